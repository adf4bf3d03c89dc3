-- +goose Up
-- Every write that hands off looks up its recipients by role (the board,
-- finance, admins) and the group's applicants by organisation: without an
-- index each of those read the whole users table, every company's people.
CREATE INDEX users_role ON users (role, organisation_id);

-- +goose Down
DROP INDEX users_role;
