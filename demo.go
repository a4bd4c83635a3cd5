package main

import (
	"context"
	"log/slog"

	"github.com/opencom-go/opencom/server"
)

// seedDemo fills an empty database with a demo workspace (see
// server.SeedDemo); it never touches a database that has data.
func seedDemo(ctx context.Context, srv *server.Server, log *slog.Logger) error {
	if server.SeedDemo == nil {
		log.Warn("--demo: no demo seeder is available in this build")
		return nil
	}
	return server.SeedDemo(ctx, srv, log)
}
