"""The path-integration task (methods §1): invariants of trajectories, place cells, cues, rewards."""

import math

import numpy as np
import pytest

from mec import constants as C
from mec.task import PlaceCells, TrajectoryGenerator, cue_distances, prefetch, random_walk


@pytest.fixture(scope="module")
def pc():
    return PlaceCells(n_cells=64)


def test_velocities_integrate_to_positions(pc):
    gen = TrajectoryGenerator(pc, batch_size=50, sequence_length=20, dtype=np.float64)
    b = gen.batch(3)
    assert b.velocity.shape == (50, 20, 2) and b.positions.shape == (50, 20, 2)
    rec = b.init_pos[:, None] + np.cumsum(b.velocity, axis=1)
    np.testing.assert_allclose(rec, b.positions, atol=1e-12)
    # one step is v*dt with v ~ Rayleigh(0.13*2pi m/s): mean step = b*sqrt(pi/2)*dt (~1.6 cm),
    # less near walls (x0.25), so the observed mean is a bit below
    step = np.linalg.norm(b.velocity, axis=-1).mean()
    expected = C.RAYLEIGH_SPEED_SCALE * math.sqrt(math.pi / 2) * C.DT
    assert 0.8 * expected < step < 1.05 * expected


def test_walk_stays_near_box_and_turns_at_walls():
    rng = np.random.default_rng(0)
    pos, hd, disp = random_walk(rng, 200, 200, -0.5, 0.5, -0.5, 0.5)
    # the released walk only turns within 3 cm of a wall, so a long step can overshoot a little
    # (as in the original); wall avoidance brings the walker back: few samples are outside
    outside = np.abs(pos).max(-1) > 0.5
    assert outside.mean() < 0.05
    assert np.abs(pos).max() < 0.5 + 0.2
    # without wall avoidance (border_region = 0) many more samples leave the box
    pos0, _, _ = random_walk(np.random.default_rng(0), 200, 200, -0.5, 0.5, -0.5, 0.5, border_region=0.0)
    assert (np.abs(pos0).max(-1) > 0.5).mean() > 3 * outside.mean()
    assert disp[:, -1].max() == 0.0  # no step after the last position


def test_place_cells_are_probability_vectors(pc):
    gen = TrajectoryGenerator(pc, batch_size=20, sequence_length=10, dtype=np.float64)
    b = gen.batch(0)
    assert b.place_targets.shape == (20, 10, 64) and b.init_place.shape == (20, 64)
    np.testing.assert_allclose(b.place_targets.sum(-1), 1.0, atol=1e-12)
    assert b.place_targets.min() >= 0.0
    # DoG against a direct per-position computation (independent of the matmul trick)
    x = b.positions[0, 0]
    d2 = ((x - pc.centres) ** 2).sum(-1)
    a = np.exp(-d2 / (2 * 0.12**2)); a /= a.sum()
    s = np.exp(-d2 / (2 * 2 * 0.12**2)); s /= s.sum()
    ref = a - s; ref += abs(ref.min()); ref /= ref.sum()
    np.testing.assert_allclose(b.place_targets[0, 0], ref, atol=1e-12)
    # decoding the true vector of the paper's 512 cells recovers the position to within a
    # place-cell spacing (~10 cm); a shuffled decoding is ~1 m off
    pc512 = PlaceCells(n_cells=512)
    b = TrajectoryGenerator(pc512, batch_size=20, sequence_length=10, dtype=np.float64).batch(0)
    err = np.linalg.norm(pc512.decode(b.place_targets) - b.positions, axis=-1).mean()
    assert err < 0.08
    err_shuffled = np.linalg.norm(pc512.decode(b.place_targets[::-1]) - b.positions, axis=-1).mean()
    assert err_shuffled > 0.5


def test_place_cell_centres_fixed():
    a, b = PlaceCells(n_cells=16), PlaceCells(n_cells=16)
    np.testing.assert_array_equal(a.centres, b.centres)
    assert np.all(np.abs(a.centres) <= 1.1)


def test_determinism_for_a_seed(pc):
    g1 = TrajectoryGenerator(pc, batch_size=8, sequence_length=6, seed=5)
    g2 = TrajectoryGenerator(pc, batch_size=8, sequence_length=6, seed=5)
    g3 = TrajectoryGenerator(pc, batch_size=8, sequence_length=6, seed=6)
    np.testing.assert_array_equal(g1.batch(4).velocity, g2.batch(4).velocity)
    assert not np.array_equal(g1.batch(4).velocity, g3.batch(4).velocity)
    assert not np.array_equal(g1.batch(4).velocity, g1.batch(5).velocity)
    # prefetching in threads yields the same batches in order
    got = [b.velocity for b in prefetch(g1.batch, 2, 7, workers=3, depth=2)]
    for i, v in zip(range(2, 7), got):
        np.testing.assert_array_equal(v, g2.batch(i).velocity)


def test_evaluation_stream_is_not_the_training_stream(pc):
    """Training batch i of seed s is default_rng([s, i]) (unchanged, resumable training); the
    evaluation stream of the same seed draws other walks (rate maps of seed 0 were once made on
    the training batches)."""
    from mec.task import STREAMS, batch_rng

    train = TrajectoryGenerator(pc, batch_size=8, sequence_length=6, seed=0)
    ev = TrajectoryGenerator(pc, batch_size=8, sequence_length=6, seed=0, stream="evaluation")
    assert train.stream == "training" and set(STREAMS) == {"training", "evaluation"}
    np.testing.assert_array_equal(batch_rng(0, 3).random(4), np.random.default_rng([0, 3]).random(4))
    for i in range(5):
        assert not np.allclose(train.batch(i).init_pos, ev.batch(i).init_pos)
    # deterministic per (seed, index) in either stream
    np.testing.assert_array_equal(ev.batch(2).velocity,
                                  TrajectoryGenerator(pc, batch_size=8, sequence_length=6, seed=0,
                                                      stream="evaluation").batch(2).velocity)
    with pytest.raises(ValueError, match="'test'"):
        TrajectoryGenerator(pc, stream="test")


def test_place_cells_redrawn_in_another_box_as_released():
    """PlaceCells.in_box = the same seed's draws in the new box (methods §1.2), for numpy-drawn and
    hand-set centres alike (an affine map of each axis)."""
    big = PlaceCells(n_cells=64)                                     # 2.2 m box
    small = PlaceCells(n_cells=64, min_x=-0.5, max_x=0.5, min_y=-0.5, max_y=0.5)
    moved = big.in_box(-0.5, 0.5, -0.5, 0.5)
    np.testing.assert_allclose(moved.centres, small.centres, atol=1e-12)
    assert moved.box == (-0.5, 0.5, -0.5, 0.5) and moved.seed == big.seed
    np.testing.assert_array_equal(big.centres, PlaceCells(n_cells=64).centres)   # unchanged
    shifted = PlaceCells(n_cells=64, min_x=0.0, max_x=2.0, min_y=-1.0, max_y=0.0)
    np.testing.assert_allclose(big.in_box(0.0, 2.0, -1.0, 0.0).centres, shifted.centres, atol=1e-12)
    ident = PlaceCells(n_cells=2, identity=True)
    assert ident.in_box(-0.5, 0.5, -0.5, 0.5) is ident


def test_cue_inputs_follow_distance_rule(pc):
    kw = {"cue_extents": C.CUE_EXTENTS, "cue_prob": 0.5}
    gen = TrajectoryGenerator(pc, batch_size=41, sequence_length=12, cue_kwargs=kw, dtype=np.float64)
    b = gen.batch(1)
    assert b.cues.shape == (41, 12, 5)
    assert b.has_cues.sum() == math.ceil(0.5 * 41)
    assert np.all(b.cues[~b.has_cues] == 0)
    before = np.concatenate([b.init_pos[:, None], b.positions[:, :-1]], axis=1)
    ep = np.flatnonzero(b.has_cues)[0]
    for t in range(12):
        for k, cue in enumerate(C.CUE_EXTENTS):
            x, y = before[ep, t]
            # brute-force distance to the square: nearest point of the square by clipping
            qx = np.clip(x, cue["center_x"] - cue["width"] / 2, cue["center_x"] + cue["width"] / 2)
            qy = np.clip(y, cue["center_y"] - cue["height"] / 2, cue["center_y"] + cue["height"] / 2)
            assert b.cues[ep, t, k] == pytest.approx(math.hypot(x - qx, y - qy), abs=1e-12)
    # inside a cue the distance is 0
    assert cue_distances(np.array([[0.01, -0.02]]), C.CUE_EXTENTS)[0, 0] == 0.0


def test_cues_checked(pc):
    bad = {"cue_extents": [{"center_x": 0, "center_y": 0, "width": 0.3, "height": 0.3},
                           {"center_x": 0.1, "center_y": 0.1, "width": 0.2, "height": 0.2}]}
    with pytest.raises(ValueError, match="overlap"):
        TrajectoryGenerator(pc, cue_kwargs=bad)
    with pytest.raises(ValueError, match="outside"):
        TrajectoryGenerator(pc, min_x=-0.5, max_x=0.5, min_y=-0.5, max_y=0.5,
                            cue_kwargs={"cue_extents": C.CUE_EXTENTS})


def test_reward_episodes(pc):
    gen = TrajectoryGenerator(pc, batch_size=40, sequence_length=20, reward_kwargs=C.REWARD_KWARGS,
                              dtype=np.float64)
    b = gen.batch(2)
    assert b.reward_episode.sum() == math.ceil(0.625 * 40)
    rec = b.init_pos[:, None] + np.cumsum(b.velocity, axis=1)
    np.testing.assert_allclose(rec, b.positions, atol=1e-12)
    nav = C.REWARD_KWARGS["reward_zone_navigate_timesteps"]
    r = b.reward_episode
    # straight, equal steps to the zone centre, then inside the zone (up to one overshooting step)
    np.testing.assert_allclose(b.positions[r, nav - 1], 0.75, atol=1e-12)
    steps = b.velocity[r, :nav]
    np.testing.assert_allclose(steps, np.broadcast_to(steps[:, :1], steps.shape), atol=1e-12)
    after = b.positions[r, nav:]
    assert np.all((after > 0.65 - 0.1) & (after < 0.85 + 0.1))
    assert np.mean((after > 0.65) & (after < 0.85)) > 0.8
    # the other episodes wander the whole box
    assert np.abs(b.positions[~r] - 0.75).max() > 0.3


def test_reward_zone_checked(pc):
    kw = dict(C.REWARD_KWARGS, reward_zone_min_x=0.9, reward_zone_max_x=1.1)
    with pytest.raises(ValueError):
        TrajectoryGenerator(pc, reward_kwargs=kw)


def test_position_loss_targets():
    pc = PlaceCells(n_cells=2, identity=True)
    b = TrajectoryGenerator(pc, batch_size=4, sequence_length=5, dtype=np.float64).batch(0)
    np.testing.assert_array_equal(b.place_targets, b.positions)
    np.testing.assert_array_equal(b.init_place, b.init_pos)
    with pytest.raises(ValueError):
        PlaceCells(n_cells=512, identity=True)
