package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	for _, tt := range []struct {
		info debug.BuildInfo
		want string
	}{
		{debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev (built without version control information)"},
		{debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-12-01T17:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}, "dev 0123456789ab 2026-12-01T17:00:00Z (modified)"},
	} {
		if got := describeBuild(&tt.info); got != tt.want {
			t.Errorf("describeBuild = %q, want %q", got, tt.want)
		}
	}
}
