package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

func loadFor(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	fs := newFlags("serve", io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return loadConfig(fs)
}

// clearOpencomEnv unsets OPENCOM_* for one test (t.Setenv restores them).
func clearOpencomEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OPENCOM_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:1111\nlog_level: warn\nsync:\n  ping_interval: 20s\n"), 0o600)
	relFile := filepath.Join(dir, "rel.yaml")
	os.WriteFile(relFile, []byte("data_dir: ./data\n"), 0o600)
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c *Config) bool
	}{
		{"default", nil, nil, func(c *Config) bool { return c.Addr == "127.0.0.1:3210" && c.LogLevel == "info" }},
		{"file over default", []string{"--config", file}, nil, func(c *Config) bool { return c.Addr == "127.0.0.1:1111" && c.LogLevel == "warn" }},
		{"env over file", []string{"--config", file}, map[string]string{"OPENCOM_ADDR": "127.0.0.1:2222"}, func(c *Config) bool { return c.Addr == "127.0.0.1:2222" && c.LogLevel == "warn" }},
		{"flag over env", []string{"--config", file, "--addr", "127.0.0.1:3333"}, map[string]string{"OPENCOM_ADDR": "127.0.0.1:2222"}, func(c *Config) bool { return c.Addr == "127.0.0.1:3333" }},
		{"config file from env", nil, map[string]string{"OPENCOM_CONFIG": file}, func(c *Config) bool { return c.Addr == "127.0.0.1:1111" }},
		{"nested key from file", []string{"--config", file}, nil, func(c *Config) bool { return c.Sync.PingInterval == 20*time.Second }},
		{"nested key from env", []string{"--config", file}, map[string]string{"OPENCOM_SYNC_PING_INTERVAL": "5s"}, func(c *Config) bool { return c.Sync.PingInterval == 5*time.Second }},
		{"list from env", nil, map[string]string{"OPENCOM_CORS_ORIGINS": "https://a.example,https://b.example"}, func(c *Config) bool {
			return reflect.DeepEqual(c.CORSOrigins, []string{"https://a.example", "https://b.example"})
		}},
		{"bool flag", []string{"--test-mode"}, nil, func(c *Config) bool { return c.TestMode }},
		{"public url follows addr", []string{"--addr", "0.0.0.0:8080"}, nil, func(c *Config) bool { return c.PublicURL == "http://0.0.0.0:8080" }},
		{"relative data dir in a file is relative to the file", []string{"--config", relFile}, nil, func(c *Config) bool {
			return c.DataDir == filepath.Join(dir, "data")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearOpencomEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cfg, err := loadFor(t, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("unexpected config: %+v", *cfg)
			}
		})
	}
}

// TestConfigExampleIsComplete: config.example.yaml names every key with
// its default, and the README documents every key.
func TestConfigExampleIsComplete(t *testing.T) {
	clearOpencomEnv(t)
	v := viper.New()
	v.SetConfigFile("config.example.yaml")
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for k := range defaults {
		want = append(want, k)
	}
	got := v.AllKeys()
	sort.Strings(want)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config.example.yaml keys %v\nconfig.go keys %v", got, want)
	}

	fromExample, err := loadFor(t, "--config", "config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	builtIn, err := loadFor(t)
	if err != nil {
		t.Fatal(err)
	}
	// Both resolve ./opencom_data against this directory (the file's
	// folder and the working directory), so the structs must be equal.
	fromExample.configFile, builtIn.configFile = "", ""
	if !reflect.DeepEqual(fromExample, builtIn) {
		t.Errorf("config.example.yaml differs from the built-in defaults:\nexample  %+v\ndefaults %+v", *fromExample, *builtIn)
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document config key %s", k)
		}
	}
}
