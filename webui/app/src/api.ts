// Function references by name: the app talks to the server only through the
// convex client, using the Opencom function names (module:function).
import { makeFunctionReference } from "convex/server";

const q = (name: string) => makeFunctionReference<"query", any, any>(name);
const m = (name: string) => makeFunctionReference<"mutation", any, any>(name);
const a = (name: string) => makeFunctionReference<"action", any, any>(name);

export const api = {
  auth: {
    setupStatus: q("auth:setupStatus"),
    currentUser: q("auth:currentUser"),
    switchWorkspace: m("auth:switchWorkspace"),
  },
  workspaces: {
    get: q("workspaces:get"),
    updateAllowedOrigins: m("workspaces:updateAllowedOrigins"),
    updateName: m("workspaces:updateName"),
    create: m("workspaces:create"),
  },
  members: {
    list: q("workspaceMembers:listByWorkspace"),
    invite: a("workspaceMembers:inviteToWorkspace"),
    pending: q("workspaceMembers:getWorkspacePendingInvitations"),
    myInvitations: q("workspaceMembers:getMyPendingInvitations"),
    accept: m("workspaceMembers:acceptInvitation"),
    cancel: m("workspaceMembers:cancelInvitation"),
    updateRole: m("workspaceMembers:updateRole"),
    remove: m("workspaceMembers:remove"),
    transfer: m("workspaceMembers:transferOwnership"),
  },
  conversations: {
    listForInbox: q("conversations:listForInbox"),
    get: q("conversations:get"),
    updateStatus: m("conversations:updateStatus"),
    assign: m("conversations:assign"),
    markAsRead: m("conversations:markAsRead"),
    bulkUpdateStatus: m("conversations:bulkUpdateStatus"),
    search: q("conversations:search"),
    bulkAssign: m("conversations:bulkAssign"),
  },
  messages: {
    list: q("messages:list"),
    send: m("messages:send"),
  },
  attachments: {
    generateUploadUrl: m("supportAttachments:generateUploadUrl"),
    finalizeUpload: m("supportAttachments:finalizeUpload"),
  },
  typing: {
    get: q("typing:get"),
    set: m("typing:set"),
  },
  visitors: { get: q("visitors:get") },
  tags: {
    list: q("tags:list"),
    create: m("tags:create"),
    update: m("tags:update"),
    remove: m("tags:remove"),
    add: m("tags:addToConversation"),
    removeFrom: m("tags:removeFromConversation"),
    forConversation: q("tags:getConversationTags"),
    conversationsWithTag: q("tags:listConversationIds"),
  },
  snippets: {
    list: q("snippets:list"),
    create: m("snippets:create"),
    update: m("snippets:update"),
    remove: m("snippets:remove"),
  },
  tickets: {
    list: q("tickets:list"),
    get: q("tickets:get"),
    update: m("tickets:update"),
    resolve: m("tickets:resolve"),
    addComment: m("tickets:addComment"),
    convert: m("tickets:convertFromConversation"),
  },
  identity: {
    getSettings: q("identityVerification:getSettings"),
    enable: m("identityVerification:enable"),
    disable: m("identityVerification:disable"),
    rotate: m("identityVerification:rotateSecret"),
    getSecret: q("identityVerification:getSecret"),
    updateMode: m("identityVerification:updateMode"),
  },
  automation: {
    getOrCreate: q("automationSettings:getOrCreate"),
    upsert: m("automationSettings:upsert"),
  },
  audit: {
    list: q("auditLogs:list"),
    getActions: q("auditLogs:getActions"),
  },
};
