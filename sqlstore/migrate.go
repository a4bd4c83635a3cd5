package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, nil
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate creates the store's own tables, loads the commit clock and applies
// pending migrations, refusing a database newer than this binary.
func (s *Store) migrate(ctx context.Context) error {
	c := s.wconn
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value ANY) STRICT`); err != nil {
		return fmt.Errorf("create _meta: %w", err)
	}
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS _schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create _schema_migrations: %w", err)
	}
	if _, err := c.ExecContext(ctx, `INSERT OR IGNORE INTO _meta(key, value) VALUES ('ts', 0)`); err != nil {
		return err
	}
	var ts int64
	if err := c.QueryRowContext(ctx, `SELECT value FROM _meta WHERE key='ts'`).Scan(&ts); err != nil {
		return fmt.Errorf("read commit timestamp: %w", err)
	}
	s.lastTS.Store(ts)
	s.tsLease = ts

	migs, err := loadMigrations(s.opts.Migrations)
	if err != nil {
		return err
	}
	var current int
	if err := c.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM _schema_migrations`).Scan(&current); err != nil {
		return err
	}
	known := 0
	if len(migs) > 0 {
		known = migs[len(migs)-1].version
	}
	if current > known {
		return fmt.Errorf("%w: database is at schema version %d, this binary knows up to %d; upgrade opencom", ErrSchemaTooNew, current, known)
	}
	for _, m := range migs {
		if m.version <= current {
			continue
		}
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
		current = m.version
		s.log.Info("applied migration", "version", m.version, "name", m.name)
	}
	s.schemaVersion = current
	return nil
}

func (s *Store) applyMigration(ctx context.Context, m migration) (err error) {
	c := s.wconn
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			c.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := c.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := c.ExecContext(ctx, `INSERT INTO _schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, "COMMIT")
	return err
}

// KnownSchemaVersion is the newest version among the given migrations.
func KnownSchemaVersion(fsys fs.FS) (int, error) {
	migs, err := loadMigrations(fsys)
	if err != nil || len(migs) == 0 {
		return 0, err
	}
	return migs[len(migs)-1].version, nil
}
