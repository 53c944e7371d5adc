"""Lesson: the paper's story in steps (?step=N), each with one button that sets up what shows it."""

from ui import lesson, texts, widgets

widgets.header(texts.LESSON_TITLE, texts.LESSON_INTRO)
lesson.page()
