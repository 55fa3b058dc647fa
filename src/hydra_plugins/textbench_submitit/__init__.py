"""Hydra launchers on hydra-submitit-launcher whose requeued jobs resume (resume=true)."""
