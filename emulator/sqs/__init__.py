"""SQS: the indexed message store for standard queues (`store`) and the event source poller that
delivers messages to Lambda as AWS does (`event_source`)."""
