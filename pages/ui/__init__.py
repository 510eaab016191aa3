"""What the pages share and are not pages themselves: the visitor's session and settings (`state`), starting and
following jobs (`jobs`), widgets drawn on several pages (`widgets`, `builder_panel`, `quiz_panel`), user text as
text (`text`) and the address's names (`params`)."""
