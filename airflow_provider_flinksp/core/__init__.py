"""What every backend shares: savepoint models, the waiting rule, the wire, the task base."""
