-- The demo services' tables: one schema per service, each with its own idempotency store.
-- Idempotent: safe to apply on every start.

CREATE SCHEMA IF NOT EXISTS inventory;
CREATE SCHEMA IF NOT EXISTS payments;
CREATE SCHEMA IF NOT EXISTS shipping;

CREATE TABLE IF NOT EXISTS inventory.idempotency_keys (
    key text PRIMARY KEY,
    status_code int NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS inventory.stock (
    sku text PRIMARY KEY,
    available int NOT NULL CHECK (available >= 0),
    reserved int NOT NULL CHECK (reserved >= 0)
);

CREATE TABLE IF NOT EXISTS inventory.reservations (
    order_id text,
    sku text,
    quantity int,
    released boolean DEFAULT false,
    PRIMARY KEY (order_id, sku)
);

CREATE TABLE IF NOT EXISTS payments.idempotency_keys (
    key text PRIMARY KEY,
    status_code int NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz DEFAULT now()
);

-- No unique constraint on order_id on purpose: a double charge under two keys must stay visible.
CREATE TABLE IF NOT EXISTS payments.charges (
    id bigserial PRIMARY KEY,
    order_id text NOT NULL,
    idempotency_key text NOT NULL,
    amount_cents int NOT NULL,
    created_at timestamptz DEFAULT now()
);
CREATE INDEX IF NOT EXISTS charges_order_id ON payments.charges (order_id);

CREATE TABLE IF NOT EXISTS payments.refunds (
    id bigserial PRIMARY KEY,
    order_id text NOT NULL,
    idempotency_key text NOT NULL,
    amount_cents int NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_order_id ON payments.refunds (order_id);

-- Calls seen per Idempotency-Key by the simulated flaky provider.
CREATE TABLE IF NOT EXISTS payments.attempts (
    key text PRIMARY KEY,
    count int NOT NULL
);

CREATE TABLE IF NOT EXISTS shipping.idempotency_keys (
    key text PRIMARY KEY,
    status_code int NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS shipping.shipments (
    order_id text PRIMARY KEY,
    status text NOT NULL,
    country text NOT NULL,
    tracking_id text NOT NULL,
    created_at timestamptz DEFAULT now()
);

-- Orders whose refunds the simulated provider refuses until an operator clears the block.
CREATE TABLE IF NOT EXISTS payments.refund_blocks (
    order_id text PRIMARY KEY
);

CREATE SCHEMA IF NOT EXISTS accounts;

CREATE TABLE IF NOT EXISTS accounts.idempotency_keys (
    key text PRIMARY KEY,
    status_code int NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS accounts.accounts (
    customer_id text PRIMARY KEY,
    account_id text NOT NULL,
    plan text NOT NULL,
    status text NOT NULL,
    welcomed boolean NOT NULL DEFAULT false
);
