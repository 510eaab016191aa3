import numpy as np
import torch

from ssl_core.analysis.plots import data_uri, embedding_figure, feature_figure, image_grid
from ssl_core.engine.train import EpochPoint


def test_the_probe_chart_starts_at_epoch_0_even_when_epoch_1_was_not_probed():
    epochs = [EpochPoint("pretext", 1, 2, 5, {"probe_knn_start": 0.4}), EpochPoint("pretext", 2, 2, 10, {"probe_knn": 0.6}),
              EpochPoint("pretext", 2, 2, 10, {"collapse": 0.1})]
    probe, collapse = feature_figure(epochs, chance=0.1).data
    assert list(probe.x) == [0, 2] and list(probe.y) == [0.4, 0.6]
    assert list(collapse.x) == [2] and collapse.name.startswith("collapse meter")


def test_an_embedding_map_has_one_trace_per_class_present_and_pictures_at_the_points():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    figure = embedding_figure(points, [0, 2, 2], ("a", "b", "c"), "map")
    assert [t.name for t in figure.data] == ["a", "c"] and list(figure.data[1].customdata) == [1, 2]
    pictures = [data_uri(torch.zeros(1, 4, 4, dtype=torch.uint8))] * 3
    figure = embedding_figure(points, [0, 2, 2], ("a", "b", "c"), "map", thumbnails=pictures)
    assert len(figure.layout.images) == 3 and figure.layout.images[2].x == 2.0
    assert pictures[0].startswith("data:image/png;base64,")


def test_image_grid_lays_pictures_out_in_rows_with_gaps():
    grid = image_grid(torch.zeros(5, 1, 2, 2, dtype=torch.uint8), columns=3, scale=2)
    assert grid.shape == ((2 * 3 - 1) * 2, (3 * 3 - 1) * 2, 3)
    assert grid[0, 0, 0] == 0 and grid[0, 4, 0] == 255  # a picture, then the white gap
