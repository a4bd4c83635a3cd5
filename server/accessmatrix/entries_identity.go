package accessmatrix

import (
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/sqlstore"
)

type args = map[string]any

func init() {
	AddSeed(func(fx *Fixture, tx *sqlstore.Tx) error {
		// Identity verification on in A (rotateSecret/updateMode need it).
		if err := tx.Patch("workspaces", fx.WorkspaceA, sqlstore.Doc{"identityVerificationEnabled": true, "identityVerificationMode": "optional", "identitySecret": "matrixsecret0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"}); err != nil {
			return err
		}
		id, err := tx.Insert("workspaceInvitations", sqlstore.Doc{"workspaceId": fx.WorkspaceA, "email": fx.Emails[OtherMember], "role": "agent", "invitedBy": fx.UserIDs[Owner], "status": "pending", "createdAt": 1.0})
		if err != nil {
			return err
		}
		fx.IDs["identity.invitationForOther"] = id
		if id, err = tx.Insert("workspaceInvitations", sqlstore.Doc{"workspaceId": fx.WorkspaceA, "email": "invitee@example.test", "role": "viewer", "invitedBy": fx.UserIDs[Owner], "status": "pending", "createdAt": 1.0}); err != nil {
			return err
		}
		fx.IDs["identity.invitation"] = id
		_, err = tx.Insert("auditLogs", sqlstore.Doc{"workspaceId": fx.WorkspaceA, "action": "user.invited", "actorId": fx.UserIDs[Owner], "actorType": "user", "resourceType": "workspaceInvitation", "timestamp": 1.0e12})
		return err
	})

	wsA := func(fx *Fixture, who Caller) args { return args{"workspaceId": fx.WorkspaceA} }
	noArgs := func(fx *Fixture, who Caller) args { return args{} }

	// auth
	add(Entry{Func: "auth:signIn", Allow: Everyone, Args: func(fx *Fixture, who Caller) args { return args{"refreshToken": "not-a-refresh-token"} }})
	add(Entry{Func: "auth:signOut", Allow: Everyone, Args: noArgs})
	add(Entry{Func: "auth:setupStatus", Allow: Everyone, Args: noArgs})
	add(Entry{Func: "auth:currentUser", Allow: Authenticated, SoftDeny: true, Args: noArgs})
	add(Entry{Func: "auth:getUserWorkspaces", Allow: Authenticated, SoftDeny: true, Args: noArgs})
	add(Entry{Func: "auth:switchWorkspace", Allow: MembersA, Args: wsA})
	add(Entry{Func: "auth:completeSignupProfile", Allow: Authenticated, Args: func(fx *Fixture, who Caller) args { return args{"name": "New Name"} }})

	// workspaces
	add(Entry{Func: "workspaces:get", Allow: Everyone, Args: func(fx *Fixture, who Caller) args { return args{"id": fx.WorkspaceA} }})
	add(Entry{Func: "workspaces:getPublicWorkspaceContext", Allow: Everyone, Args: wsA})
	add(Entry{Func: "workspaces:getByName", Allow: MembersA, SoftDeny: true, Args: func(fx *Fixture, who Caller) args { return args{"name": "Workspace A"} }})
	add(Entry{Func: "workspaces:create", Allow: Authenticated, Args: func(fx *Fixture, who Caller) args { return args{"name": "Another"} }})
	add(Entry{Func: "workspaces:getOrCreateDefault", Allow: Authenticated, Args: noArgs})
	add(Entry{Func: "workspaces:updateAllowedOrigins", Allow: Roles(access.SettingsSecurity), Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "allowedOrigins": []string{"https://example.com"}}
	}})
	add(Entry{Func: "workspaces:updateHelpCenterAccessPolicy", Allow: Roles(access.SettingsWorkspace), Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "policy": "restricted"}
	}})
	add(Entry{Func: "workspaces:updateName", Allow: Roles(access.SettingsWorkspace), Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "name": "Renamed Workspace"}
	}})
	add(Entry{Func: "workspaces:validateOrigin", Allow: Everyone, Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "origin": "https://example.com"}
	}})

	// workspaceMembers
	add(Entry{Func: "workspaceMembers:listByWorkspace", Allow: Roles(access.UsersRead), SoftDeny: true, Args: wsA})
	add(Entry{Func: "workspaceMembers:listByUser", Allow: Authenticated, SoftDeny: true, Args: func(fx *Fixture, who Caller) args {
		if id := fx.UserID(who); id != "" {
			return args{"userId": id}
		}
		return args{"userId": fx.UserID(Viewer)}
	}})
	add(Entry{Func: "workspaceMembers:getMemberRole", Allow: MembersA, SoftDeny: true, Args: wsA})
	add(Entry{Func: "workspaceMembers:add", Allow: Roles(access.UsersInvite), Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "userId": fx.UserID(OtherMember), "role": "agent"}
	}})
	add(Entry{Func: "workspaceMembers:updateRole", Allow: Roles(access.UsersManage), Args: func(fx *Fixture, who Caller) args {
		return args{"membershipId": fx.MemberIDs[Agent], "role": "viewer"}
	}})
	add(Entry{Func: "workspaceMembers:remove", Allow: Roles(access.UsersRemove), Args: func(fx *Fixture, who Caller) args {
		return args{"membershipId": fx.MemberIDs[Viewer]}
	}})
	add(Entry{Func: "workspaceMembers:transferOwnership", Allow: []Caller{Owner}, Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "newOwnerId": fx.UserID(Admin)}
	}})
	invite := func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "email": "new.person@example.test", "role": "agent"}
	}
	add(Entry{Func: "workspaceMembers:inviteToWorkspace", Allow: Roles(access.UsersInvite), Args: invite})
	add(Entry{Func: "workspaceMembers:createInvitation", Allow: Roles(access.UsersInvite), Args: invite})
	add(Entry{Func: "workspaceMembers:getWorkspacePendingInvitations", Allow: Roles(access.UsersRead), SoftDeny: true, Args: wsA})
	add(Entry{Func: "workspaceMembers:getMyPendingInvitations", Allow: Authenticated, SoftDeny: true, AllowEmpty: true, Args: noArgs})
	add(Entry{Func: "workspaceMembers:acceptInvitation", Allow: []Caller{OtherMember}, Args: func(fx *Fixture, who Caller) args {
		return args{"invitationId": fx.IDs["identity.invitationForOther"]}
	}})
	add(Entry{Func: "workspaceMembers:cancelInvitation", Allow: Roles(access.UsersManage), Args: func(fx *Fixture, who Caller) args {
		return args{"invitationId": fx.IDs["identity.invitation"]}
	}})

	// visitors
	add(Entry{Func: "visitors:get", Allow: MembersA, SoftDeny: true, Args: func(fx *Fixture, who Caller) args { return args{"id": fx.VisitorIDs[VisitorA]} }})
	add(Entry{Func: "visitors:getBySession", Allow: Plus(MembersA, []Caller{VisitorA}), SoftDeny: true, Args: func(fx *Fixture, who Caller) args {
		a := args{"sessionId": fx.VisitorSessions[VisitorA]}
		if t := fx.SessionToken(who); t != "" {
			a["sessionToken"] = t
		}
		return a
	}})
	add(Entry{Func: "visitors:list", Allow: Roles(access.UsersRead), SoftDeny: true, Args: wsA})
	// getMergeHistory answers {status, entries}: denied callers get a
	// status other than "ok"; allowed ones "ok" (no merges in the seed).
	add(Entry{Func: "visitors:getMergeHistory", Allow: Roles(access.UsersRead), SoftDeny: true, Empty: func(v any) bool {
		m, _ := v.(map[string]any)
		return m["status"] != "ok"
	}, Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "visitorId": fx.VisitorIDs[VisitorA]}
	}})
	add(Entry{Func: "visitors:identify", Allow: []Caller{VisitorA}, Args: func(fx *Fixture, who Caller) args {
		return args{"visitorId": fx.VisitorIDs[VisitorA], "sessionToken": fx.SessionToken(who), "name": "Renamed"}
	}})
	add(Entry{Func: "visitors:updateLocation", Allow: Plus(Roles(access.UsersRead), []Caller{VisitorA}), Args: func(fx *Fixture, who Caller) args {
		a := args{"visitorId": fx.VisitorIDs[VisitorA], "location": args{"city": "Lyon"}}
		if t := fx.SessionToken(who); t != "" {
			a["sessionToken"] = t
		}
		return a
	}})
	// heartbeat is silent by design: nobody gets an error.
	add(Entry{Func: "visitors:heartbeat", Allow: Everyone, Args: func(fx *Fixture, who Caller) args {
		return args{"visitorId": fx.VisitorIDs[VisitorA], "sessionToken": fx.SessionToken(who)}
	}})

	// widgetSessions
	add(Entry{Func: "widgetSessions:boot", Allow: Everyone, Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "sessionId": "matrix-new-session"}
	}})
	add(Entry{Func: "widgetSessions:refresh", Allow: []Caller{VisitorA, VisitorB}, Args: func(fx *Fixture, who Caller) args {
		return args{"sessionToken": fx.SessionToken(who)}
	}})
	add(Entry{Func: "widgetSessions:revoke", Allow: Everyone, Args: func(fx *Fixture, who Caller) args { return args{"sessionToken": fx.SessionToken(who)} }})
	add(Entry{Func: "widgetSessions:validateSessionToken", Allow: []Caller{VisitorA}, SoftDeny: true, Empty: func(v any) bool {
		m, _ := v.(map[string]any)
		return m["valid"] == false
	}, Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "sessionToken": fx.SessionToken(who)}
	}})
	add(Entry{Func: "widgetSessions:getSettings", Allow: Roles(access.SettingsSecurity), Args: wsA})
	add(Entry{Func: "widgetSessions:updateSettings", Allow: Roles(access.SettingsSecurity), Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "sessionLifetimeMs": 7200000}
	}})

	// identityVerification
	sec := Roles(access.SettingsSecurity)
	add(Entry{Func: "identityVerification:getSettings", Allow: sec, SoftDeny: true, Args: wsA})
	add(Entry{Func: "identityVerification:enable", Allow: sec, Args: func(fx *Fixture, who Caller) args { return args{"workspaceId": fx.WorkspaceA, "mode": "required"} }})
	add(Entry{Func: "identityVerification:disable", Allow: sec, Args: func(fx *Fixture, who Caller) args { return args{"workspaceId": fx.WorkspaceA, "confirmDisable": true} }})
	add(Entry{Func: "identityVerification:updateMode", Allow: sec, Args: func(fx *Fixture, who Caller) args { return args{"workspaceId": fx.WorkspaceA, "mode": "required"} }})
	add(Entry{Func: "identityVerification:rotateSecret", Allow: sec, Args: wsA})
	add(Entry{Func: "identityVerification:getSecret", Allow: sec, Args: wsA})
	add(Entry{Func: "identityVerification:isRequired", Allow: Everyone, Args: wsA})
	add(Entry{Func: "identityVerification:getVisitorStatus", Allow: Plus(Roles(access.UsersRead), []Caller{VisitorA}), Args: func(fx *Fixture, who Caller) args {
		a := args{"visitorId": fx.VisitorIDs[VisitorA]}
		if t := fx.SessionToken(who); t != "" {
			a["sessionToken"] = t
		}
		return a
	}})

	// auditLogs
	add(Entry{Func: "auditLogs:list", Allow: Roles(access.AuditRead), SoftDeny: true, Args: wsA})
	add(Entry{Func: "auditLogs:getActions", Allow: Roles(access.AuditRead), SoftDeny: true, Args: wsA})
	add(Entry{Func: "auditLogs:getSettings", Allow: sec, Args: wsA})
	add(Entry{Func: "auditLogs:updateSettings", Allow: sec, Args: func(fx *Fixture, who Caller) args { return args{"workspaceId": fx.WorkspaceA, "retentionDays": 30} }})
	add(Entry{Func: "auditLogs:getAccess", Allow: MembersA, SoftDeny: true, Empty: func(v any) bool {
		m, _ := v.(map[string]any)
		return m["status"] != "ok"
	}, Args: wsA})
	add(Entry{Func: "auditLogs:exportLogs", Allow: Roles(access.DataExport), Args: wsA})
	add(Entry{Func: "auditLogs:logExport", Allow: Roles(access.DataExport), Args: func(fx *Fixture, who Caller) args {
		return args{"workspaceId": fx.WorkspaceA, "exportType": "auditLogs", "recordCount": 3}
	}})
}
