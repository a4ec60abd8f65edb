-- Permissions become the whole access model: what every signed-in user could
-- always do (read, write and delete anything, within package ownership) is
-- now a grant to `users` that an operator can narrow or remove.
INSERT INTO permissions (principal, repo, include, exclude, actions, created_at)
VALUES ('users', '*', '["*"]', '[]', '["read","write","delete"]',
        CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- Bumped by every change that alters what someone may do, so that each
-- server (and the one a CLI change did not go through) reloads its rules and
-- forgets the credentials it verified.
CREATE TABLE access_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO access_generation (id, n) VALUES (1, 0);

CREATE TRIGGER permissions_insert AFTER INSERT ON permissions
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER permissions_update AFTER UPDATE ON permissions
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER permissions_delete AFTER DELETE ON permissions
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER team_members_insert AFTER INSERT ON team_members
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER team_members_delete AFTER DELETE ON team_members
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER teams_delete AFTER DELETE ON teams
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER users_update AFTER UPDATE OF admin, disabled, password_hash ON users
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER users_delete AFTER DELETE ON users
BEGIN UPDATE access_generation SET n = n + 1; END;
CREATE TRIGGER tokens_delete AFTER DELETE ON tokens
BEGIN UPDATE access_generation SET n = n + 1; END;
