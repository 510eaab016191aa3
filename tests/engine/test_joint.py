import pytest
import torch
import torch.nn.functional as F

from ssl_core.engine.downstream import DownstreamConfig, train_downstream
from ssl_core.engine.joint import JointNet, JointObjective, joint_problem
from ssl_core.engine.models import Classifier, make_backbone
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import make_task


def test_only_tasks_that_label_whole_images_train_jointly():
    assert joint_problem(make_task("rotation", None, 0), 3, 16) == ""
    assert "pieces of images" in joint_problem(make_task("jigsaw", None, 0), 3, 24)
    assert "paints pixels" in joint_problem(make_task("colorization", None, 0), 3, 16)


def test_the_joint_network_scores_both_heads_in_training_and_is_the_classifier_in_eval():
    task = make_task("rotation", None, 0)
    classifier = Classifier(make_backbone("small_cnn", 1), 10, grid=2)
    net = JointNet(classifier, task)
    labeled = torch.randn(3, 1, 16, 16)
    rotated, angles = task.make_batch(torch.randn(3, 1, 16, 16), torch.Generator().manual_seed(0))
    out = net.train()(torch.cat([labeled, rotated]))
    assert out.shape == (3 + 12, 10) and net.split(len(out)) == 3
    assert (out[3:, 4:] < -1e3).all()  # the pretext rows have 4 classes, padded
    labels = torch.tensor([1, 2, 3])
    objective = JointObjective(net, 10, task)
    expected = F.cross_entropy(out[:3], labels) + task.loss(out[3:, :4], angles)
    assert objective.loss(out, torch.cat([labels, angles])).item() == pytest.approx(expected.item())
    assert objective.score(out, torch.cat([labels, angles])).shape == (3,)  # the real task's rows only
    assert net.eval()(labeled).shape == (3, 10)


def test_joint_training_learns_the_pretext_task_too_and_needs_the_unlabeled_images():
    images = torch.randint(0, 256, (120, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(120) % 2
    pretrained = pretrain(PretrainConfig(epochs=1, image_size=16, device="cpu"), images[:80], images[80:])
    config = DownstreamConfig(epochs=2, min_steps=20, batch_size=8)
    result = train_downstream("joint", pretrained, images[:16], labels[:16], images[80:], labels[80:], 2, config,
                              unlabeled_images=images[:80])
    assert result.mode == "joint" and isinstance(result.model, Classifier) and result.evaluation.n == 40
    assert result.train_accuracy is not None
    with pytest.raises(ValueError, match="unlabeled images"):
        train_downstream("joint", pretrained, images[:16], labels[:16], images[80:], labels[80:], 2, config)
