"""The worker side: turn queued jobs into one internal note each."""
