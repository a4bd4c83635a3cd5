package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
)

// systemdUnit replaces kardianos' default unit, whose RestartSec=120 keeps
// the inbox down for two minutes after a crash.
const systemdUnit = `[Unit]
Description={{.Description}}
ConditionFileIsExecutable={{.Path|cmdEscape}}
After=network-online.target
Wants=network-online.target

[Service]
StartLimitInterval=60
StartLimitBurst=10
ExecStart={{.Path|cmdEscape}}{{range .Arguments}} {{.|cmd}}{{end}}
{{if .ChRoot}}RootDirectory={{.ChRoot|cmd}}{{end}}
{{if .WorkingDirectory}}WorkingDirectory={{.WorkingDirectory|cmdEscape}}{{end}}
{{if .UserName}}User={{.UserName}}{{end}}
Restart=always
RestartSec=2
TimeoutStopSec=15
KillSignal=SIGTERM
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full
ProtectHome=true
LimitNOFILE=65536
EnvironmentFile=-/etc/default/{{.Name}}

[Install]
WantedBy=multi-user.target
`

type program struct {
	cfg    *Config
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan error
}

func (p *program) Start(s service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.done = make(chan error, 1)
	go func() {
		err := serve(ctx, p.cfg, p.log, nil)
		if err != nil {
			p.log.Error("server stopped with an error", "err", err)
		}
		p.done <- err
		if err != nil {
			// Let the service manager restart us.
			os.Exit(1)
		}
	}()
	return nil
}

func (p *program) Stop(s service.Service) error {
	p.cancel()
	return <-p.done
}

func serviceConfig(cfg *Config) (*service.Config, error) {
	args := []string{"serve"}
	if cfg.configFile != "" {
		abs, err := filepath.Abs(cfg.configFile)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", abs)
	} else {
		// Without a config file, pin the resolved data dir and address so
		// the service does not depend on its working directory.
		args = append(args, "--data-dir", cfg.DataDir, "--addr", cfg.Addr)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	sc := &service.Config{
		Name:             cfg.Service.Name,
		DisplayName:      "Opencom",
		Description:      "Opencom customer messaging server",
		Executable:       exe,
		Arguments:        args,
		WorkingDirectory: cfg.DataDir,
		UserName:         cfg.Service.User,
		Option: service.KeyValue{
			"SystemdScript":          systemdUnit,
			"OnFailure":              "restart", // Windows: restart on failure
			"OnFailureDelayDuration": "2s",
			"OnFailureResetPeriod":   60,
			"DelayedAutoStart":       false,
		},
	}
	if runtime.GOOS == "linux" {
		sc.Dependencies = []string{"After=network-online.target"}
	}
	return sc, nil
}

func runAsService(cfg *Config, log *slog.Logger) error {
	sc, err := serviceConfig(cfg)
	if err != nil {
		return err
	}
	p := &program{cfg: cfg, log: log}
	s, err := service.New(p, sc)
	if err != nil {
		return err
	}
	return s.Run()
}

func cmdService(action string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(action, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	sc, err := serviceConfig(cfg)
	if err != nil {
		return err
	}
	s, err := service.New(&program{cfg: cfg}, sc)
	if err != nil {
		return err
	}
	if action == "status" {
		st, err := s.Status()
		if err != nil {
			if errors.Is(err, service.ErrNotInstalled) {
				fmt.Fprintf(stdout, "service %s is not installed\n", sc.Name)
				return nil
			}
			return err
		}
		names := map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped", service.StatusUnknown: "unknown"}
		fmt.Fprintf(stdout, "service %s is %s\n", sc.Name, names[st])
		return nil
	}
	if action == "install" {
		if err := ensureWritable(cfg.DataDir); err != nil {
			return err
		}
	}
	if err := service.Control(s, action); err != nil {
		return fmt.Errorf("%s service %s: %w", action, sc.Name, err)
	}
	fmt.Fprintf(stdout, "service %s: %s done (%s)\n", sc.Name, action, s.Platform())
	return nil
}
