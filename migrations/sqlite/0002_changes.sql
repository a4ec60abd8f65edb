-- When each package of a repository last changed ("*": anything in it), in
-- Unix milliseconds: the Last-Modified of the documents rendered from it.
CREATE TABLE changes (
    repo       TEXT NOT NULL,
    package    TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (repo, package)
);
