import torch

from ssl_core.analysis.activations import block_responses, first_filters, first_layer_change
from ssl_core.engine.models import small_cnn


def test_first_filters_show_zero_as_grey_and_each_kernel_at_full_range():
    net = small_cnn(3)
    conv = net.blocks[0][0]
    with torch.no_grad():
        conv.weight[0] = 0
    pictures = first_filters(net)
    assert pictures.shape == (16, 3, 3, 3) and pictures.dtype == torch.uint8
    assert (pictures[0] == 128).all()  # no weight: mid-grey
    assert ((pictures[1:].flatten(1).max(1).values == 255) | (pictures[1:].flatten(1).min(1).values == 0)).all()


def test_block_responses_give_each_blocks_strongest_channels_at_its_resolution():
    net = small_cnn(1).eval()
    image = torch.randint(0, 256, (1, 1, 28, 28), dtype=torch.uint8)
    responses = block_responses(net, image, 16, top=5)
    assert [r.size for r in responses] == [8, 4, 2, 2]  # pooled after each block but the last
    assert [r.width for r in responses] == net.widths
    for r in responses:
        assert r.maps.shape == (5, 1, r.size, r.size) and r.maps.dtype == torch.uint8
    from ssl_core.data.augment import normalise, resize_all

    x = normalise(resize_all(image, 16))
    means = net.blocks[0](x)[0].mean(dim=(1, 2))
    assert list(responses[0].channels) == means.argsort(descending=True)[:5].tolist()


def test_first_layer_change_is_zero_for_the_same_weights_and_grows_with_the_change():
    net = small_cnn(1)
    moved = small_cnn(1)
    moved.load_state_dict(net.state_dict())
    assert first_layer_change(net, moved) == 0.0
    with torch.no_grad():
        moved.blocks[0][0].weight.mul_(1.5)
    assert abs(first_layer_change(net, moved) - 0.5) < 1e-5


def test_the_default_picture_is_the_one_with_most_contrast():
    from ssl_core.analysis.activations import clearest

    images = torch.zeros(5, 1, 8, 8, dtype=torch.uint8)
    images[1, :, 2:6, 2:6] = 40  # faint
    images[3, :, 2:6, 2:6] = 255  # bold
    assert clearest(images) == 3 and clearest(images[:2]) == 1
