"""The kernel every app imports: the user model, API authentication and the caller guards,
errors, ids, parsers and body limits, the task queue. It imports no app."""
