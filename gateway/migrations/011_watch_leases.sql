-- Each open run that holds a flow-control slot is watched by one process at a time: the one
-- holding its lease (`gateway/flow/leases.py`). A process renews its leases while it lives; a
-- lease that runs out (its process died) is taken over by the next process that looks.
CREATE TABLE flow_watch_leases (
    workflow_id text        NOT NULL,
    run_id      text        NOT NULL,
    owner       text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (workflow_id, run_id)
);
CREATE INDEX flow_watch_leases_owner ON flow_watch_leases (owner);
