""""You guess first": the pretext task as a game, the person against the trained network on the same
held-out samples. Its state lives in `st.session_state.game`, one `Game` per task, settings and size."""
from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
import torch
from torch import nn

from pages.ui.state import get_job
from pages.ui.text import escape
from ssl_core.analysis.plots import display_scale, upscale
from ssl_core.app.runs import continuable
from ssl_core.data.augment import resize_all
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import Split
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult
from ssl_core.pretext import TASKS, PretextTask, Quiz

QUESTIONS = 8  # per round


@dataclass
class Game:
    key: tuple  # what the questions were made for: a change of dataset, task or size starts a new game
    quiz: Quiz | None = None
    round: int = 0
    answers: list[int] = field(default_factory=list)  # this round's, in order
    you: int = 0  # right answers over every round
    asked: int = 0
    net: int = 0  # the network's right answers, on the questions it saw with you
    net_asked: int = 0
    network: list[int] | None = None  # its answers to this round's questions
    network_of: nn.Module | None = None  # the model that gave them

    def new_round(self, dataset: ImageDataset, split: Split, config: PretrainConfig) -> None:
        task = config.make_task()
        generator = torch.Generator().manual_seed(1000 + self.round)
        picks = question_images(dataset, split, task, config.image_size, generator)
        self.quiz = task.quiz(resize_all(dataset.images[picks], config.image_size), generator)
        self.answers, self.network, self.network_of, self.round = [], None, None, self.round + 1

    def answer(self, question: int, choice: int) -> None:
        """A click on `choice` of `question` (a stale click, on a question already answered, is dropped)."""
        if question != len(self.answers) or question >= len(self.quiz.questions):
            return
        right = self.quiz.questions[question].answer
        self.answers.append(choice)
        self.asked += 1
        self.you += choice == right
        if self.network is not None:
            self.net_asked += 1
            self.net += self.network[question] == right

    def play_against(self, opponent: PretrainResult | None) -> None:
        """The network answers this round's questions (a network that has just finished plays from here on)."""
        if opponent is None:
            self.network = self.network_of = None
        elif self.network_of is not opponent.model:
            self.network = opponent.task.quiz_answers(opponent.model, self.quiz)
            self.network_of = opponent.model


def question_images(dataset: ImageDataset, split: Split, task: PretextTask, size: int,
                    generator: torch.Generator) -> torch.Tensor:
    """The held-out images a round asks about: ones the task can use (a colourful photo for colorization), and,
    where the wrong answers come from the other images of the round, all of one class, so that the class does
    not give the answer away. ValueError when too few suit the game."""
    rows = split.test if len(split.test) >= 2 else torch.arange(len(dataset))
    rows = rows[torch.randperm(len(rows), generator=generator)]
    if task.quiz_same_class and dataset.num_classes > 1:
        labels = dataset.labels[rows]
        counts = torch.bincount(labels[labels >= 0], minlength=dataset.num_classes)
        alike = (counts >= QUESTIONS).nonzero().flatten()
        if len(alike):
            rows = rows[labels == alike[torch.randint(len(alike), (1,), generator=generator)]]
    candidates = rows[:QUESTIONS * 16]
    picks = candidates[task.quiz_usable(resize_all(dataset.images[candidates], size))][:QUESTIONS]
    if len(picks) < 2:
        raise ValueError(f"too few of these images suit the {task.title.lower()} game (it needs images it can ask "
                         "about, such as colourful photos for colorization)")
    return picks


def _opponent(dataset: ImageDataset, config: PretrainConfig) -> PretrainResult | None:
    """This session's pretext model when it was trained on exactly this task (same settings, seed and size)."""
    job = get_job("train_job")
    result = job.snapshot().result if job else None
    if result is not None and continuable(result, dataset, config) and result.config.image_size == config.image_size:
        return result
    return None


def _picture(column, picture, size: int) -> None:
    scale = display_scale(max(picture.shape[:2]), size)
    column.image(upscale(picture, scale))


def quiz_panel(dataset: ImageDataset, split: Split, config: PretrainConfig) -> None:
    key = (dataset.name, len(dataset), config.task, repr(config.make_task().settings), config.image_size, config.seed)
    game = st.session_state.get("game")
    if game is None or game.key != key:
        game = Game(key)
        try:
            game.new_round(dataset, split, config)
        except ValueError as exc:
            st.warning(escape(exc))
            return
        st.session_state.game = game
    quiz = game.quiz
    game.play_against(_opponent(dataset, config))
    done = len(game.answers)
    if done:
        previous = quiz.questions[done - 1]
        right = game.answers[-1] == previous.answer
        text = f"{'✅ Right' if right else '❌ Not quite'}: the answer was **{previous.choices[previous.answer]}**."
        if game.network is not None:
            net = game.network[done - 1]
            text += f" The network chose {previous.choices[net]} {'✅' if net == previous.answer else '❌'}."
        columns = st.columns([1, 1, 3] if previous.pictures else [1, 4])
        _picture(columns[0], previous.prompt, 120)
        columns[0].caption("the question")
        if previous.pictures:
            _picture(columns[1], previous.pictures[previous.answer], 120)
            columns[1].caption("the right answer")
        (columns[-1].success if right else columns[-1].warning)(text)
        if why := TASKS[game.key[2]].quiz_why:
            columns[-1].caption(f"Why: {why}")
    score = [f"You: **{game.you} of {game.asked}**"] if game.asked else []
    if game.net_asked:
        score.append(f"the network: **{game.net} of {game.net_asked}** on the same questions")
    st.markdown(" · ".join(score + [f"chance: {quiz.chance:.0%}"]))
    if game.network is None:
        st.caption("Train this task on the **Train** page (same settings, seed and image size) and the network plays "
                   "too, on the same questions.")
    if done == len(quiz.questions):
        if st.button("▶ Next round", key="quiz_next"):
            game.new_round(dataset, split, config)
            st.rerun()
        return
    question = quiz.questions[done]
    st.markdown(f"**Question {done + 1} of {len(quiz.questions)}.** {quiz.ask}")
    left, right = st.columns([1, 3])
    _picture(left, question.prompt, 160)
    per_row = len(question.choices) if question.pictures else 4  # names need room: eight places go on two rows
    for start in range(0, len(question.choices), per_row):
        for j, column in enumerate(right.columns(per_row), start):
            if j >= len(question.choices):
                break
            if question.pictures:
                _picture(column, question.pictures[j], 150)
            column.button(question.choices[j], key=f"quiz_{game.round}_{done}_{j}", on_click=game.answer,
                          args=(done, j), width="stretch")
