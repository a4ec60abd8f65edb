-- Identity and access: disabled users, teams, package owners, permissions
-- with package patterns, API tokens with a lifecycle, the audit log.

ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE teams (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team      TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    PRIMARY KEY (team, user_name)
);
CREATE INDEX team_members_by_user ON team_members (user_name);

-- Who may change a package: users (`user:alice`) or teams (`team:core`).
-- The first publisher of a package becomes its owner.
CREATE TABLE package_owners (
    repo      TEXT NOT NULL,
    package   TEXT NOT NULL,
    principal TEXT NOT NULL,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (repo, package, principal)
);

-- Grants to a user or team on a repository (`*`: every one), limited to
-- package names matching an include glob and no exclude glob (JSON lists),
-- for some actions (JSON list of read, write, delete, admin).
CREATE TABLE permissions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    principal  TEXT NOT NULL,
    repo       TEXT NOT NULL,
    include    TEXT NOT NULL,
    exclude    TEXT NOT NULL,
    actions    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX permissions_by_principal ON permissions (principal);

-- A token is named and listed by a public id (never by its secret); it may
-- expire and be restricted (JSON: read_only, repositories, packages).
ALTER TABLE tokens ADD COLUMN id TEXT;
UPDATE tokens SET id = substr(hash, 1, 16);
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
ALTER TABLE tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
ALTER TABLE tokens ADD COLUMN restrictions TEXT NOT NULL DEFAULT '{}';

-- Every write and every access change: who (and with which token id), what,
-- from where, and how it ended. Nothing secret.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT,
    token   TEXT,
    address TEXT,
    action  TEXT NOT NULL,
    repo    TEXT,
    target  TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_actor ON audit (actor, at);
