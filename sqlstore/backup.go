package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Progress reports how many bytes of an estimated total have been copied.
type Progress func(done, total int64)

// Backup copies the database at srcPath into destPath while other
// processes (a running server) keep reading and writing it. VACUUM INTO
// reads one consistent snapshot and never holds the write lock, so writers
// are not blocked; the copy is then integrity-checked. destPath must not
// exist. progress (may be nil) is called about every 200 ms.
func Backup(ctx context.Context, srcPath, destPath string, progress Progress) error {
	if _, err := os.Stat(srcPath); err != nil {
		return fmt.Errorf("source database: %w", err)
	}
	if _, err := os.Stat(destPath); err == nil {
		return fmt.Errorf("backup file %s already exists; choose a new name", destPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp := destPath + ".partial"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", "file:"+srcPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var pages, pageSize int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("open source database: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return err
	}
	total := pages * pageSize
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if progress == nil {
			return
		}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if fi, err := os.Stat(tmp); err == nil {
					progress(min(fi.Size(), total), total)
				}
			}
		}
	}()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", tmp)
	close(stop)
	<-watched
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy database: %w", err)
	}
	if err := IntegrityCheck(ctx, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup failed its integrity check: %w", err)
	}
	if err := os.Rename(tmp, destPath); err != nil {
		return err
	}
	if progress != nil {
		fi, _ := os.Stat(destPath)
		if fi != nil {
			progress(fi.Size(), fi.Size())
		}
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check on the file at path.
func IntegrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("not a readable SQLite database: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("not a readable SQLite database: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity_check: %v", problems)
	}
	return nil
}

// FileSchemaVersion reads the schema version recorded in a database file.
func FileSchemaVersion(ctx context.Context, path string) (int, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version),0) FROM _schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s is not an opencom database: %w", path, err)
	}
	return v, nil
}

// Restore replaces the database at dbPath with the backup at backupPath.
// The server must be stopped (the caller holds the data dir lock). The
// backup must pass integrity_check and be no newer than knownVersion. The
// current database is checkpointed and kept as dbPath.<time>.bak. It
// returns the path of that .bak file ("" if there was no database).
func Restore(ctx context.Context, backupPath, dbPath string, knownVersion int) (string, error) {
	if err := IntegrityCheck(ctx, backupPath); err != nil {
		return "", fmt.Errorf("backup %s: %w", backupPath, err)
	}
	v, err := FileSchemaVersion(ctx, backupPath)
	if err != nil {
		return "", err
	}
	if v > knownVersion {
		return "", fmt.Errorf("%w: backup is at schema version %d, this binary knows up to %d", ErrSchemaTooNew, v, knownVersion)
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		return "", err
	}
	staged := dbPath + ".restoring"
	os.Remove(staged)
	if err := copyFile(backupPath, staged); err != nil {
		return "", err
	}
	var bak string
	if _, err := os.Stat(dbPath); err == nil {
		// Fold the WAL into the main file so the .bak is self-contained.
		db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
		if err == nil {
			_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			db.Close()
		}
		if err != nil {
			os.Remove(staged)
			return "", fmt.Errorf("checkpoint current database: %w", err)
		}
		bak = freeBakName(dbPath, time.Now())
		if err := os.Rename(dbPath, bak); err != nil {
			os.Remove(staged)
			return "", err
		}
		os.Remove(dbPath + "-wal")
		os.Remove(dbPath + "-shm")
	}
	if err := os.Rename(staged, dbPath); err != nil {
		return bak, err
	}
	syncDir(filepath.Dir(dbPath))
	return bak, nil
}

// freeBakName is dbPath.<UTC time>.bak, with a counter when that name is
// taken: rename would silently replace an earlier .bak from the same second.
func freeBakName(dbPath string, now time.Time) string {
	base := fmt.Sprintf("%s.%s", dbPath, now.UTC().Format("20060102T150405Z"))
	name := base + ".bak"
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d.bak", base, i)
	}
}

// copyFile streams src to a new file dst and flushes it to disk, so that
// a restore that reports success survives a power cut.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// syncDir makes renames in dir durable. Windows cannot open a directory
// for syncing (and its renames need no such step): errors are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
