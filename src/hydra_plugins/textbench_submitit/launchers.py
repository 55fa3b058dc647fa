"""SLURM through hydra-submitit-launcher, with one change: a job that SLURM preempts or
times out is requeued with `resume=true`, so it goes on from its last checkpoint in its own
directory instead of starting over.

`hydra/launcher=slurm` uses `SlurmLauncher`; `hydra/launcher=slurm_local` runs the same
submission, signal and requeue code through submitit's local executor, without a cluster.
"""

from typing import Any

from hydra_plugins.hydra_submitit_launcher import submitit_launcher


class _ResumeOnRequeue:
    def checkpoint(self, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> Any:
        """Called by submitit on preemption or timeout: the job to requeue."""
        import submitit

        kept = [o for o in sweep_overrides if not o.startswith("resume=")]
        return submitit.helpers.DelayedSubmission(self, [*kept, "resume=true"], *args, **kwargs)


class SlurmLauncher(_ResumeOnRequeue, submitit_launcher.SlurmLauncher):
    pass


class LocalLauncher(_ResumeOnRequeue, submitit_launcher.LocalLauncher):
    pass
