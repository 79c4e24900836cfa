"""Sources: where files come from. The watcher observes the inbox; messages carry a file's bytes."""
