package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/identity"
	"github.com/opencom-go/opencom/server/schema"
	"github.com/opencom-go/opencom/sqlstore"
)

const adminUsage = `usage: opencom admin create EMAIL [--password-stdin] [--workspace NAME] [--name NAME] [--config FILE] [--data-dir DIR]

Creates a user with a password and a new workspace they own. The password
is asked for on the terminal, or read from the first line of standard input
with --password-stdin. Run it while the server is stopped: a running server
holds the data directory and would not see the new account in open tabs
until they reload (and the agent app's first-run setup does the same job
while the server runs).`

func init() { cmdAdminImpl = cmdAdminCreate }

func cmdAdminCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{errors.New(adminUsage)}
	}
	fs := newFlags("admin create", stderr)
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	wsName := fs.String("workspace", "", "workspace name (default \"<name>'s Workspace\")")
	name := fs.String("name", "", "the user's display name (default: the email's local part)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New(adminUsage)}
	}
	email := identity.NormalizeEmail(fs.Arg(0))
	if !strings.Contains(email, "@") {
		return usageError{fmt.Errorf("%q is not an email address", fs.Arg(0))}
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	password, err := readPassword(stdin, stderr, *pwStdin)
	if err != nil {
		return err
	}
	if err := identity.ValidatePassword(password); err != nil {
		return usageError{err}
	}
	if err := ensureWritable(cfg.DataDir); err != nil {
		return err
	}
	lock, err := sqlstore.LockDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("%v: stop the server first (opencom stop), or create the account in the web app", err)
	}
	defer lock.Unlock()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, cfg.dbPath(), sqlstore.Options{Durability: cfg.Durability, Migrations: schema.Migrations(), Logger: newLogger(cfg, stderr)})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()
	var wsID, finalName string
	_, err = store.Write(ctx, func(tx *sqlstore.Tx) error {
		uid, err := identity.CreateUserWithPassword(tx, email, password, strings.TrimSpace(*name))
		if err != nil {
			return err
		}
		u, err := tx.Get("users", uid)
		if err != nil {
			return err
		}
		finalName = strings.TrimSpace(*wsName)
		if finalName == "" {
			finalName = u.Str("name") + "'s Workspace"
		}
		now := float64(time.Now().UnixMilli())
		if wsID, err = identity.CreateWorkspace(tx, finalName, uid, now); err != nil {
			return err
		}
		_, err = tx.Insert("auditLogs", sqlstore.Doc{"workspaceId": wsID, "action": "workspace.settings.changed", "actorId": uid, "actorType": "system", "resourceType": "workspace", "resourceId": wsID, "metadata": map[string]any{"action": "created", "source": "opencom admin create"}, "timestamp": now})
		return err
	})
	if err != nil {
		var fe *fn.Error
		if errors.As(err, &fe) {
			if fe.Code == fn.InvalidInput {
				return usageError{errors.New(fe.Message)}
			}
			return errors.New(fe.Message)
		}
		return err
	}
	fmt.Fprintf(stdout, "created %s, owner of workspace %q (%s)\n", email, finalName, wsID)
	return nil
}

// readPassword reads from the terminal without echo (asking twice), or the
// first line of stdin when it is not a terminal or --password-stdin is set.
func readPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", usageError{errors.New("the passwords do not match")}
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", usageError{errors.New("no password on standard input")}
	}
	return strings.TrimRight(line, "\r\n"), nil
}
