"""The names the app reads from its address. Light on purpose: app.py reads them before the navigation,
ahead of the imports that load torch."""

SESSION_PARAM = "session"  # the visitor's token: a reload finds their workspace again
OLD_PARAMS = ("train", "downstream", "budget", "blocks")  # links from before sessions had tokens (old `data=` ids
# are read as a shared setup, and refused with a note)
PRESENT_PARAM = "present"  # ?present=1: presenter mode
