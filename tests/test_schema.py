"""Config knowledge is declared once: each class conf/ builds has one schema, whose
settings and defaults are its constructor's, and the trust list is derived from them."""

import dataclasses
import importlib
import inspect

import pytest
from omegaconf import MISSING, OmegaConf

from tests.support import ROOT
from textbench.schema import SCHEMAS, SOURCES, TRAINERS
from textbench.trust import CHECKPOINT_TARGETS, RECORDED_TARGETS, TRUSTED_TARGETS

# the parameters code supplies, never config: what only the data knows, and what the
# recipe hands over (the encoder factory, the optimizer and its step count)
SUPPLIED = {
    "vocab_size",
    "pad_id",
    "num_classes",
    "label_names",
    "encoder",
    "optimizer",
    "scheduler",
    "total_steps",
    "monitor",
    "monitor_mode",
    "label_smoothing",
    "class_weights",
    "decay_all",
    "tokenizer",
    "source",
    "corpus",  # embeddings.word2vec_corpus, when word2vec_corpus_vocab=true
    "corpus_min_count",  # embeddings.word2vec_min_count, likewise
    "params",  # an optimizer's parameters
}


def _constructor(target: str) -> inspect.Signature:
    module, name = target.rsplit(".", 1)
    found = getattr(importlib.import_module(module), name)
    return inspect.signature(found)


def _default(field: dataclasses.Field) -> object:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _same(a: object, b: object) -> bool:
    as_list = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return as_list(a) == as_list(b)


@pytest.mark.parametrize("target", sorted(SCHEMAS | SOURCES))
def test_each_schema_is_its_constructors_settings_and_defaults(target: str) -> None:
    """A setting cannot drift between schema and code: every field is a parameter of the
    class (or function) it describes, with the same default (a required parameter is a
    required field); textbench's own classes take no other parameter but those code
    supplies. Lightning's Trainer keeps textbench's defaults (conf/trainer), so only its
    names are bound; torch's optimizers, names and defaults."""
    parameters = _constructor(target).parameters
    schema = SCHEMAS.get(target) or SOURCES[target]
    for field in dataclasses.fields(schema):
        assert field.name in parameters, (target, field.name)
        if target in TRAINERS:
            continue
        default = parameters[field.name].default
        if default is inspect.Parameter.empty:
            assert _default(field) == MISSING, (target, field.name)
        else:
            assert _same(_default(field), default), (target, field.name, _default(field), default)
    if target.startswith("textbench."):
        named = {f.name for f in dataclasses.fields(schema)}
        variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
        others = {
            name
            for name, p in parameters.items()
            if name not in named and name != "self" and p.kind not in variadic
        }
        assert others <= SUPPLIED, (target, others - SUPPLIED)


def test_the_schema_covers_every_class_the_configs_build() -> None:
    """Every model, tokenizer, optimizer, scheduler, data module, source and trainer that
    conf/ names has a schema whose settings are those its config sets."""
    for group in ("model", "optimizer", "scheduler", "tokenizer", "trainer", "data"):
        for path in sorted((ROOT / "conf" / group).rglob("*.yaml")):
            node = OmegaConf.load(path)
            for part in (node, node.get("encoder"), node.get("source")):
                if not part or "_target_" not in part:
                    continue
                schema = SCHEMAS.get(part._target_) or SOURCES[part._target_]
                fields = set(schema.__dataclass_fields__)
                if schema in SOURCES.values():
                    continue  # its settings sit in the data node, checked with it
                assert set(part) - {"_target_", "_partial_", "defaults"} <= fields | {
                    "encoder",
                    "source",
                    *SOURCES_FIELDS,
                }, path


SOURCES_FIELDS = {f.name for schema in SOURCES.values() for f in dataclasses.fields(schema)}


def test_the_trust_list_is_derived_from_the_catalogue() -> None:
    """No hand-kept second list: every trusted name is a schema's, a source's, or one of
    the few recorded nodes (callbacks, loggers, Hydra's); a checkpoint's list is a part."""
    assert set(SCHEMAS) | set(SOURCES) | RECORDED_TARGETS == TRUSTED_TARGETS
    assert CHECKPOINT_TARGETS < TRUSTED_TARGETS
    assert not CHECKPOINT_TARGETS & RECORDED_TARGETS
