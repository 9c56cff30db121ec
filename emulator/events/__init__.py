"""EventBridge: rules deliver to their targets (targets.py), schedules fire on time (schedule.py)."""
