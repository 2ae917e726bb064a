"""The config: the reference's defaults, validation that names the field."""

import dataclasses

import pytest

from tf_maddpg import MADDPGConfig, MATD3Config, config_from_dict


def test_defaults_are_the_pytorch_reference_settings():
    c = MADDPGConfig()
    assert (c.actor_lr, c.critic_lr, c.gamma, c.tau) == (1e-2, 1e-2, 0.95, 0.01)
    assert (c.batch_size, c.hidden_sizes, c.buffer_size, c.minimal_size) == (1024, (64, 64), 100_000, 4_000)
    assert (c.update_interval, c.episode_length, c.num_episodes) == (100, 25, 5_000)
    assert (c.eval_interval, c.eval_episodes, c.epsilon, c.max_grad_norm) == (100, 100, 0.01, None)
    assert (c.update_order, c.target_actions, c.other_actions) == ("sequential", "argmax", "current")


def test_original_settings():
    c = MADDPGConfig.original()
    assert (c.max_grad_norm, c.target_actions, c.other_actions, c.epsilon) == (0.5, "gumbel", "batch", 0.0)
    assert (c.buffer_size, c.minimal_size, c.num_episodes) == (1_000_000, 25_600, 60_000)


@pytest.mark.parametrize("field, value, message", [
    ("actor_lr", 0.0, "actor_lr=0.0 is invalid: expected a finite float in (0, inf)"),
    ("gamma", 1.5, "gamma=1.5 is invalid"),
    ("tau", float("nan"), "tau=nan is invalid"),
    ("batch_size", 2.5, "batch_size=2.5 is invalid: expected an integer >= 1"),
    ("hidden_sizes", (64, 0), "hidden_sizes=(64, 0) is invalid"),
    ("minimal_size", 10, "minimal_size=10 is invalid: expected an integer between batch_size (1024)"),
    ("buffer_size", 100, "buffer_size=100 is invalid: expected an integer >= batch_size (1024)"),
    ("update_order", "random", "update_order='random' is invalid: expected one of ('sequential', 'simultaneous')"),
    ("target_actions", "soft", "expected one of ('argmax', 'gumbel')"),
    ("other_actions", "x", "expected one of ('current', 'batch')"),
    ("max_grad_norm", 0, "expected None or a float > 0"),
    ("epsilon", 2.0, "epsilon=2.0 is invalid"),
    ("jit_compile", "yes", "expected True or False"),
    ("eval_episodes", 0, "eval_episodes=0 is invalid"),
    ("actor_lr", "0.01", "actor_lr='0.01' is invalid"),
])
def test_bad_values_raise_value_errors_that_name_the_field(field, value, message):
    with pytest.raises(ValueError) as error:
        MADDPGConfig(**{field: value})
    assert message in str(error.value)


def test_frozen_and_replace_validates_again():
    c = MADDPGConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.gamma = 0.5
    assert c.replace(gamma=0.5).gamma == 0.5
    with pytest.raises(ValueError):
        c.replace(gamma=-1)
    assert MADDPGConfig(hidden_sizes=[32, 32]).hidden_sizes == (32, 32)
    assert config_from_dict(c.to_dict()) == c


def test_matd3_config_adds_its_fields_and_round_trips():
    c = MATD3Config(policy_delay=3, gamma=0.9)
    assert (c.algo, MADDPGConfig.algo) == ("matd3", "maddpg")
    assert c.to_dict()["algo"] == "matd3" and "policy_delay" not in MADDPGConfig().to_dict()
    assert config_from_dict(c.to_dict()) == c
    assert isinstance(config_from_dict({"gamma": 0.9}), MADDPGConfig)
    for field, value in (("policy_delay", 0), ("target_noise", -0.1), ("target_noise_clip", "x")):
        with pytest.raises(ValueError, match=f"MATD3Config.{field}="):
            MATD3Config(**{field: value})


def test_config_from_dict_names_the_algorithm_a_field_belongs_to():
    with pytest.raises(ValueError, match=r"algo maddpg has no field policy_delay \(a field of "
                                         r"algo matd3\)"):
        config_from_dict({"policy_delay": 2})
    with pytest.raises(ValueError, match="unknown algo 'td3'"):
        config_from_dict({"algo": "td3"})


def test_a_field_newer_than_a_runs_checkpoint_counts_as_its_default():
    """A run trained before a field existed resumes when the field keeps its default
    (the behaviour the run had): IQL runs from before ``agent`` and ``rnn_hidden_dim``."""
    from tf_maddpg.algorithms.iql import IQLConfig
    from tf_maddpg.config import changed_fields

    given = IQLConfig().to_dict()
    saved = {k: v for k, v in given.items() if k not in ("agent", "rnn_hidden_dim")}
    defaults = IQLConfig().to_dict()
    assert changed_fields(saved, given, defaults) == []
    assert changed_fields(saved, {**given, "agent": "gru"}, defaults) == ["agent"]
    assert changed_fields(saved, given) == ["agent", "rnn_hidden_dim"]  # no defaults: refused


def test_presets_are_published_configurations_under_the_given_fields():
    from tf_maddpg.algorithms.ippo.config import IPPOConfig
    from tf_maddpg.algorithms.mappo.config import MAPPOConfig

    harl = MAPPOConfig.harl()
    assert (harl.actor_lr, harl.critic_lr, harl.epochs, harl.hidden_sizes, harl.num_envs) == (
        5e-4, 5e-4, 5, (128, 128), 160)
    assert harl.team_critic and harl.hidden_norm and harl.team_reward == "sum"
    assert MAPPOConfig.harl(epochs=7).epochs == 7  # overrides win
    assert config_from_dict({"algo": "mappo", "preset": "harl", "seed": 3}) == harl.replace(seed=3)
    assert MADDPGConfig.from_preset("original") == MADDPGConfig.original()
    with pytest.raises(ValueError, match=r"algo ippo has no preset 'harl' \(its presets: none\)"):
        IPPOConfig.from_preset("harl")
    with pytest.raises(ValueError, match=r"algo mappo has no preset 'x' \(its presets: harl\)"):
        config_from_dict({"algo": "mappo", "preset": "x"})


def test_a_saved_config_that_predates_a_field_keeps_the_behaviour_it_was_trained_with():
    """A MAPPO or HAPPO run saved before the PPO family matched its named configurations
    had no hidden LayerNorms, its agents' own rewards, ValueNorm moved once per rollout
    and (HAPPO) a critic per agent: read back, its config says so, not today's defaults."""
    from tf_maddpg.algorithms.happo.config import HAPPOConfig
    from tf_maddpg.algorithms.mappo.config import MAPPOConfig

    for cls in (MAPPOConfig, HAPPOConfig):
        old = {k: v for k, v in cls().to_dict().items()
               if k not in ("hidden_norm", "team_reward", "value_norm_update", "team_critic")}
        saved = config_from_dict(old, saved=True)
        assert (saved.hidden_norm, saved.team_reward, saved.value_norm_update,
                saved.team_critic) == (False, "own", "rollout", False)
        assert config_from_dict(old) == cls()  # a new config file: today's defaults
