""""You guess first": the pretext task as a game, the person against the trained network on the same
held-out samples. Its state (questions, answers, scores) lives in `st.session_state.quiz`."""
from __future__ import annotations

import streamlit as st
import torch

from pages.common import get_job
from ssl_core.augment import resize_all
from ssl_core.datasets import ImageDataset
from ssl_core.plots import display_scale
from ssl_core.pretrain import PretrainConfig, PretrainResult
from ssl_core.runs import continuable
from ssl_core.splits import Split

QUESTIONS = 8  # per round


def _opponent(dataset: ImageDataset, config: PretrainConfig) -> PretrainResult | None:
    """This session's pretext model when it was trained on exactly this task (same settings, seed and size)."""
    job = get_job("train_job")
    result = job.snapshot().result if job else None
    if result is not None and continuable(result, dataset, config) and result.config.image_size == config.image_size:
        return result
    return None


def _new_round(state: dict, dataset: ImageDataset, split: Split, config: PretrainConfig) -> None:
    rows = split.test if len(split.test) >= 2 else torch.arange(len(dataset))
    generator = torch.Generator().manual_seed(1000 + state["round"])
    picks = rows[torch.randperm(len(rows), generator=generator)[:QUESTIONS]]
    images = resize_all(dataset.images[picks], config.image_size)
    state.update(quiz=config.make_task().quiz(images, generator), answers=[], network=None, network_of=None,
                 round=state["round"] + 1)


def _answer(state: dict, choice: int) -> None:
    quiz, i = state["quiz"], len(state["answers"])
    state["answers"].append(choice)
    state["asked"] += 1
    state["you"] += choice == quiz.questions[i].answer
    if state["network"] is not None:
        state["net_asked"] += 1
        state["net"] += state["network"][i] == quiz.questions[i].answer


def _picture(column, picture, size: int, caption: str | None = None) -> None:
    scale = display_scale(max(picture.shape[:2]), size)
    column.image(picture.repeat(scale, 0).repeat(scale, 1), caption=caption)


def quiz_panel(dataset: ImageDataset, split: Split, config: PretrainConfig) -> None:
    key = (dataset.name, len(dataset), config.task, repr(config.make_task().settings), config.image_size, config.seed)
    state = st.session_state.get("quiz")
    if state is None or state["key"] != key:
        state = st.session_state.quiz = {"key": key, "round": 0, "you": 0, "asked": 0, "net": 0, "net_asked": 0}
        try:
            _new_round(state, dataset, split, config)
        except ValueError as exc:
            st.warning(str(exc))
            st.session_state.quiz = None
            return
    quiz = state["quiz"]
    opponent = _opponent(dataset, config)
    if opponent is None:
        state["network"] = state["network_of"] = None
    elif state.get("network_of") is not opponent.model:  # a network that just finished plays from here on
        state["network"] = opponent.task.quiz_answers(opponent.model, quiz)
        state["network_of"] = opponent.model
    done = len(state["answers"])
    if done:
        previous = quiz.questions[done - 1]
        mine = state["answers"][-1]
        right = mine == previous.answer
        text = f"{'✅ Right' if right else '❌ Not quite'}: the answer was **{previous.choices[previous.answer]}**."
        if state["network"] is not None:
            net = state["network"][done - 1]
            text += f" The network chose {previous.choices[net]} {'✅' if net == previous.answer else '❌'}."
        (st.success if right else st.warning)(text)
    score = [f"You: **{state['you']} of {state['asked']}**"]
    if state["net_asked"]:
        score.append(f"the network: **{state['net']} of {state['net_asked']}** on the same questions")
    score.append(f"chance: {quiz.chance:.0%}")
    st.markdown(" · ".join(score))
    if opponent is None:
        st.caption("Train this task on the **Train** page (same settings, seed and image size) and the network plays "
                   "too, on the same questions.")
    if done == len(quiz.questions):
        if st.button("▶ Next round", key="quiz_next"):
            _new_round(state, dataset, split, config)
            st.rerun()
        return
    question = quiz.questions[done]
    st.markdown(f"**Question {done + 1} of {len(quiz.questions)}.** {quiz.ask}")
    left, right = st.columns([1, 3])
    _picture(left, question.prompt, 160)
    columns = right.columns(len(question.choices))
    for j, (column, choice) in enumerate(zip(columns, question.choices)):
        if question.pictures:
            _picture(column, question.pictures[j], 96)
        column.button(choice, key=f"quiz_{state['round']}_{done}_{j}", on_click=_answer, args=(state, j),
                      width="stretch")

