import math

import torch
import torch.nn.functional as F

from ssl_core.engine.features import collapse_level, embed, knn_correct, knn_predict, nearest
from ssl_core.engine.models import small_cnn
from tests.conftest import clusters


def test_embed_gives_one_unit_vector_per_image_of_the_block_read():
    net = small_cnn(1)
    images = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    features = embed(net, images, 16, block=3, batch_size=4)
    assert features.shape == (10, net.feature_dim(3, 2))
    assert torch.allclose(features.norm(dim=1), torch.ones(10), atol=1e-5)
    assert net.training, "embedding leaves the network's mode as it was"
    assert torch.allclose(embed(net, images[:3], 16, block=3), features[:3], atol=1e-5)  # batching changes nothing


def test_knn_sorts_separated_classes_and_random_features_sit_near_chance():
    features, labels = clusters()
    assert knn_correct(features, labels, 2).all()
    g = torch.Generator().manual_seed(1)
    noise = F.normalize(torch.randn(400, 16, generator=g), dim=1)
    random_labels = torch.randint(0, 2, (400,), generator=g)
    assert 0.35 < knn_correct(noise, random_labels, 2).float().mean() < 0.65


def test_leave_one_out_never_lets_an_image_vote_for_itself():
    features = torch.eye(4)  # four images, each alone in its direction
    labels = torch.tensor([0, 1, 2, 3])
    assert (knn_predict(features, labels, features, 4, k=1) == labels).all()  # itself is its nearest
    assert not knn_correct(features, labels, 4, k=1).any()  # left out, no neighbour shares its class


def test_nearest_finds_the_identical_row_first():
    bank, _ = clusters(50)
    index, similarity = nearest(bank, bank[[7, 20]], k=3)
    assert index[:, 0].tolist() == [7, 20]
    assert torch.allclose(similarity[:, 0], torch.ones(2), atol=1e-5)
    assert (similarity[:, :-1] >= similarity[:, 1:]).all()


def test_collapse_meter_reads_one_for_identical_embeddings_and_near_zero_for_spread_ones():
    assert collapse_level(torch.ones(64, 32)) == 1.0
    spread = collapse_level(torch.randn(2000, 32, generator=torch.Generator().manual_seed(0)))
    assert spread < 0.05
    assert 0.2 < collapse_level(torch.randn(500, 32) * 0.3 + 1.0) < 1.0  # bunched round one direction
    assert math.isnan(collapse_level(torch.ones(1, 8)))
