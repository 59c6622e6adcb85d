"""The webhook side: verify a delivery, de-duplicate it and queue one job."""
