package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

func TestAdminCreate(t *testing.T) {
	dir := t.TempDir()
	runAdmin := func(stdin string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := cmdAdminCreate(append([]string{"create"}, append(args, "--data-dir", dir)...), strings.NewReader(stdin), &out, &errb)
		return out.String(), err
	}
	isUsage := func(err error) bool { var u usageError; return errors.As(err, &u) }

	out, err := runAdmin("s3cret-pass\n", "Boss@Example.com", "--password-stdin", "--workspace", "Acme")
	if err != nil || !strings.Contains(out, `owner of workspace "Acme"`) {
		t.Fatalf("create: %q %v", out, err)
	}
	cases := []struct {
		name  string
		stdin string
		args  []string
		usage bool
		msg   string
	}{
		{"duplicate", "s3cret-pass\n", []string{"boss@example.com", "--password-stdin"}, false, "already exists"},
		{"short password", "short\n", []string{"new@example.com", "--password-stdin"}, true, "at least 8"},
		{"no password", "", []string{"new@example.com", "--password-stdin"}, true, "no password"},
		{"not an email", "s3cret-pass\n", []string{"boss", "--password-stdin"}, true, "not an email"},
		{"no email", "", nil, true, "usage"},
	}
	for _, c := range cases {
		_, err := runAdmin(c.stdin, c.args...)
		if err == nil || isUsage(err) != c.usage || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err=%v usage=%v, want usage=%v containing %q", c.name, err, isUsage(err), c.usage, c.msg)
		}
	}
	// Refuses while a server holds the data directory.
	lock, err := sqlstore.LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runAdmin("s3cret-pass\n", "other@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Errorf("with the dir locked: %v", err)
	}
	lock.Unlock()

	// The account is real: one owner membership, a bcrypt password.
	st, err := sqlstore.Open(context.Background(), filepath.Join(dir, "opencom.db"), sqlstore.Options{Migrations: schema.Migrations()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Read(context.Background(), func(tx *sqlstore.Tx) error {
		u, _ := tx.Query("users").Eq("email", "boss@example.com").First()
		if u == nil {
			t.Fatal("user not stored")
		}
		acct, _ := tx.Query("authAccounts").Eq("userId", u.ID()).First()
		if acct == nil || bcrypt.CompareHashAndPassword([]byte(acct.Str("secret")), []byte("s3cret-pass")) != nil {
			t.Errorf("password account missing or wrong: %v", acct)
		}
		mems, _ := tx.Query("workspaceMembers").Eq("userId", u.ID()).Collect()
		if len(mems) != 1 || mems[0].Str("role") != "owner" || mems[0].Str("workspaceId") != u.Str("workspaceId") {
			t.Errorf("memberships %v", mems)
		}
		return nil
	})
}
