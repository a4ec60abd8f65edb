-- Repositories made through the admin API (those of wharf.toml are not
-- stored): the definition as the API takes it, in JSON.
CREATE TABLE repositories (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Bumped by every change, so that each server remounts within a second.
CREATE TABLE repositories_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO repositories_generation (id, n) VALUES (1, 0);

CREATE TRIGGER repositories_insert AFTER INSERT ON repositories
BEGIN UPDATE repositories_generation SET n = n + 1; END;
CREATE TRIGGER repositories_update AFTER UPDATE ON repositories
BEGIN UPDATE repositories_generation SET n = n + 1; END;
CREATE TRIGGER repositories_delete AFTER DELETE ON repositories
BEGIN UPDATE repositories_generation SET n = n + 1; END;
