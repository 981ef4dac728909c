"""The object-created function (``functions/on_object_created/``): a link per new object, sent to a webhook.

    records.py       OSS trigger events, record by record
    rules.py         ON_CREATED_RULES: which objects get which link, sent where
    object_links.py  a presigned URL or a links-function link for one object
    webhooks.py      signed deliveries with retries, backoff and a deadline
    handler.py       records -> rules -> links -> deliveries, concurrently, within a budget
    settings.py      the ON_CREATED_* variables
    invoke_access.py who may POST /invoke: the invoke token, or FC's front end in FC mode
    wiring.py        the instance built at cold start
    invoke.py        the FC event handler and the custom runtime's POST /invoke (bounded, admitted first)
"""
