-- Warden passdb for Dovecot 2.3 (Debian package dovecot-auth-lua): Dovecot
-- hands each plaintext login to Warden's POST /v1/auth/verify and turns the
-- answer into a passdb result.
--
--   Warden                    this script returns            the client sees
--   ok                        PASSDB_RESULT_OK               logged in
--   wrong_password            PASSWORD_MISMATCH              IMAP  NO [AUTHENTICATIONFAILED] Authentication failed.
--                                                            POP3  -ERR [AUTH] Authentication failed.
--                                                            SMTP  535 5.7.8 Error: authentication failed: (reason unavailable)
--   any other reason          OK + noauthenticate            IMAP  NO [<imap_code>] <message>
--   (app_password_required,     + reason=<text>, then the    POP3  -ERR [AUTH] <message>
--   locked_by_risk_control,     deny passdb after this one   SMTP  535 5.7.8 Error: authentication failed: <message>
--   password_expired,           refuses the login with
--   account_locked...)          that text
--   no answer, an error       INTERNAL_FAILURE               IMAP  NO [UNAVAILABLE] Temporary authentication failure. [host:time]
--                                                            POP3  -ERR [SYS/TEMP] Temporary authentication failure. [host:time]
--                                                            SMTP  535 5.7.8 Error: authentication failed: (reason unavailable)
--
-- <imap_code> and <message> are the verify answer's imap_code and message
-- (in WARDEN_LANG): for IMAP the reason is "[<imap_code>] <message>", which
-- Dovecot's imap-login sends unchanged, as Warden's policy server does; POP3
-- and SMTP get the message alone.
--
-- Dovecot 2.3 drops the fields of a failed passdb, so a refusal cannot carry
-- a text by failing here. Instead the script returns OK with noauthenticate
-- (Dovecot: "not authenticated, try the next passdb"), whose fields Dovecot
-- keeps, and the next passdb of warden-passdb.conf (static, deny = yes)
-- fails every login that reaches it: the failure carries reason= to
-- imap-login, pop3-login and SASL clients such as Postfix alike. Without that
-- deny passdb Dovecot fails these logins temporarily ("Last passdb had
-- noauthenticate field"): never open.
--
-- Settings come from the environment, which Dovecot passes on when they are
-- listed in import_environment (see docs/integrations/dovecot.md):
--   WARDEN_URL           default http://127.0.0.1:8080
--   WARDEN_API_KEY_FILE  a file holding the API key (or WARDEN_API_KEY)
--   WARDEN_TIMEOUT_MS    default 3000: the most a login waits for Warden,
--                        retries included (then: temporary failure)
--   WARDEN_LANG          en (default) or zh
--
-- The passdb blocks (integrations/dovecot/warden-passdb.conf): the Lua passdb
-- with blocking=yes, then the static deny passdb.

local url, key, lang, timeout

local function read_file(path)
  local f = io.open(path, "r")
  if f == nil then
    return nil
  end
  local text = f:read("*a")
  f:close()
  return text
end

local function trim(s)
  return (string.gsub(s or "", "^%s*(.-)%s*$", "%1"))
end

-- JSON -------------------------------------------------------------------

local function encode_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

local function encode(fields)
  local parts = {}
  for k, v in pairs(fields) do
    local value
    if type(v) == "boolean" then
      value = v and "true" or "false"
    else
      value = encode_string(tostring(v))
    end
    parts[#parts + 1] = encode_string(k) .. ":" .. value
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function utf8_char(cp)
  if cp < 0x80 then
    return string.char(cp)
  elseif cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
  elseif cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
    0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

-- A small JSON reader: returns the value, or nil and an error.
local function decode(text)
  local pos = 1
  local value

  local function fail(what)
    error({ json = what .. " at byte " .. pos })
  end

  local function skip()
    pos = string.find(text, "[^ \t\r\n]", pos) or (#text + 1)
  end

  local function read_string()
    pos = pos + 1
    local out = {}
    while true do
      local c = string.sub(text, pos, pos)
      if c == "" then fail("unterminated string") end
      if c == '"' then
        pos = pos + 1
        return table.concat(out)
      elseif c == "\\" then
        local e = string.sub(text, pos + 1, pos + 1)
        local simple = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if simple[e] then
          out[#out + 1] = simple[e]
          pos = pos + 2
        elseif e == "u" then
          local cp = tonumber(string.sub(text, pos + 2, pos + 5), 16)
          if cp == nil then fail("bad \\u escape") end
          pos = pos + 6
          if cp >= 0xD800 and cp <= 0xDBFF and string.sub(text, pos, pos + 1) == "\\u" then
            local lo = tonumber(string.sub(text, pos + 2, pos + 5), 16)
            if lo and lo >= 0xDC00 and lo <= 0xDFFF then
              cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
              pos = pos + 6
            end
          end
          out[#out + 1] = utf8_char(cp)
        else
          fail("bad escape")
        end
      else
        local stop = string.find(text, '["\\]', pos) or (#text + 1)
        out[#out + 1] = string.sub(text, pos, stop - 1)
        pos = stop
      end
    end
  end

  value = function()
    skip()
    local c = string.sub(text, pos, pos)
    if c == "{" then
      local obj = {}
      pos = pos + 1
      skip()
      if string.sub(text, pos, pos) == "}" then
        pos = pos + 1
        return obj
      end
      while true do
        skip()
        if string.sub(text, pos, pos) ~= '"' then fail("expected a key") end
        local k = read_string()
        skip()
        if string.sub(text, pos, pos) ~= ":" then fail("expected :") end
        pos = pos + 1
        obj[k] = value()
        skip()
        local d = string.sub(text, pos, pos)
        pos = pos + 1
        if d == "}" then return obj end
        if d ~= "," then fail("expected , or }") end
      end
    elseif c == "[" then
      local arr = {}
      pos = pos + 1
      skip()
      if string.sub(text, pos, pos) == "]" then
        pos = pos + 1
        return arr
      end
      while true do
        arr[#arr + 1] = value()
        skip()
        local d = string.sub(text, pos, pos)
        pos = pos + 1
        if d == "]" then return arr end
        if d ~= "," then fail("expected , or ]") end
      end
    elseif c == '"' then
      return read_string()
    elseif string.sub(text, pos, pos + 3) == "true" then
      pos = pos + 4
      return true
    elseif string.sub(text, pos, pos + 4) == "false" then
      pos = pos + 5
      return false
    elseif string.sub(text, pos, pos + 3) == "null" then
      pos = pos + 4
      return nil
    else
      local num = string.match(text, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if num == nil or num == "" then fail("unexpected character") end
      pos = pos + #num
      return tonumber(num)
    end
  end

  local ok, result = pcall(value)
  if not ok then
    if type(result) == "table" then return nil, result.json end
    return nil, tostring(result)
  end
  return result
end

-- Dovecot ----------------------------------------------------------------

local function protocol_of(service)
  service = string.lower(service or "")
  if service == "imap" or service == "pop3" then return service end
  if service == "smtp" or service == "submission" or service == "lmtp" then return "smtp" end
  return "api"
end

-- Dovecot's own logins say "TLS"; SASL clients such as Postfix say only
-- "secured", and only over TLS.
local function is_tls(service, secured)
  if secured == "TLS" then return true end
  local p = protocol_of(service)
  return secured == "secured" and p ~= "imap" and p ~= "pop3"
end

function script_init()
  url = trim(os.getenv("WARDEN_URL"))
  if url == "" then url = "http://127.0.0.1:8080" end
  url = string.gsub(url, "/+$", "") .. "/v1/auth/verify"
  key = trim(os.getenv("WARDEN_API_KEY"))
  local key_file = trim(os.getenv("WARDEN_API_KEY_FILE"))
  if key_file ~= "" then
    key = trim(read_file(key_file))
    if key == "" then
      dovecot.i_error("warden-passdb: cannot read the API key from " .. key_file)
      return 1
    end
  end
  if key == "" then
    dovecot.i_error("warden-passdb: set WARDEN_API_KEY_FILE (or WARDEN_API_KEY) in import_environment")
    return 1
  end
  lang = trim(os.getenv("WARDEN_LANG"))
  if lang == "" then lang = "en" end
  timeout = tonumber(os.getenv("WARDEN_TIMEOUT_MS") or "") or 3000
  return 0
end

-- A new HTTP client per login. Dovecot 2.3 keeps the connect back-off of a
-- server (100 ms, doubling on every failed connect up to 60 s; the client
-- settings do not change it) for as long as a client of it lives: one kept
-- for the worker's lifetime went on refusing logins (9008 "Request queued
-- ... not yet sent") for up to a minute after Warden was back. Dropped after
-- each login (Dovecot collects the garbage after every call), a client
-- starts afresh, and there is no kept-alive connection to a Warden that
-- restarted meanwhile.
local function new_client()
  return dovecot.http.client({
    -- The whole budget of one login, every attempt included.
    request_absolute_timeout_msecs = timeout,
    -- Connect up to 5 times (after 0, 0.1, 0.3, 0.7 and 1.5 s): a login
    -- rides out a Warden restart of about a second and a half, and fails
    -- (temporarily) after 1.5 s when Warden is down.
    max_connect_attempts = 5,
    -- Send the request once more if its connection breaks.
    max_attempts = 2,
    user_agent = "dovecot/warden-passdb",
  })
end

function script_deinit()
end

function auth_password_verify(req, password)
  local fields = {
    user = req.user,
    password = password,
    protocol = protocol_of(req.service),
    ip = req.remote_ip,
    tls = is_tls(req.service, req.secured),
    lang = lang,
  }
  if req.client_id ~= nil and req.client_id ~= "" then
    -- Dovecot's client_id is the IMAP ID list without its parentheses. The
    -- client chooses it: control characters become spaces and it is cut to
    -- 1000 bytes on a character boundary, so it can never make Warden
    -- refuse the request (the login would fail for a client-chosen reason).
    local id = string.sub(string.gsub(req.client_id, "%c", " "), 1, 1000)
    id = string.gsub(id, "[\192-\255][\128-\191]*$", function(tail)
      local lead = string.byte(tail)
      local need = lead >= 240 and 4 or (lead >= 224 and 3 or 2)
      if #tail == need then return tail end
      return ""
    end)
    fields.user_agent = "(" .. id .. ")"
  end
  -- Kept in a local until the end: the request needs its client alive.
  local client = new_client()
  local http = client:request({ url = url, method = "POST" })
  http:add_header("Content-Type", "application/json")
  http:add_header("X-API-Key", key)
  http:set_payload(encode(fields))
  local resp = http:submit()
  local status = resp:status()
  if status >= 9000 then
    -- 9000 and up are Dovecot's own HTTP client errors (9003 connect failed,
    -- 9005 connection lost, 9008 timed out): Warden never answered.
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
      "no answer from Warden at " .. url .. ": " .. tostring(status) .. " " .. tostring(resp:reason())
  end
  if status ~= 200 then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
      "Warden answered HTTP " .. tostring(status) .. " " .. tostring(resp:reason()) .. ": " .. tostring(resp:payload())
  end
  local answer, err = decode(resp:payload())
  if type(answer) ~= "table" then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "unreadable answer from Warden: " .. tostring(err)
  end
  if answer.result == "ok" then
    if answer.warning ~= nil then
      req:log_info("warden: " .. tostring(answer.warning) .. " until " .. tostring(answer["until"]))
    end
    return dovecot.auth.PASSDB_RESULT_OK, {}
  end
  local reason = answer.reason or ""
  req:log_info("warden refused the login: " .. reason)
  if reason == "wrong_password" then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "warden: " .. reason
  end
  -- A refusal with a text for the user. noauthenticate makes this "not
  -- authenticated, go on" with the reason kept; the deny passdb that follows
  -- fails the login with it (see the header).
  local text = string.gsub(answer.message or "Login refused.", "%c", " ")
  if protocol_of(req.service) == "imap" and answer.imap_code ~= nil and answer.imap_code ~= "" then
    text = "[" .. answer.imap_code .. "] " .. text
  end
  return dovecot.auth.PASSDB_RESULT_OK, { noauthenticate = "y", reason = text }
end
