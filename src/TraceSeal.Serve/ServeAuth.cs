using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace TraceSeal.Serve;

/// <summary>
/// Who may read: a request carries the token (Authorization: Bearer, or the cookie that /login sets), or arrives
/// over a TLS connection whose client certificate the configured CA signed (checked in the handshake). The token is
/// 32 random bytes made at start and printed once; it is compared in constant time and never logged or echoed.
/// </summary>
internal sealed class ServeAuth
{
    public const string CookieName = "traceseal_token";
    public const string LoginPath = "/login";

    /// <summary>Label of the cookie value's derivation (domain separation, as every derivation in TraceSeal).</summary>
    private const string CookieLabel = "traceseal/v1/serve-cookie";

    private readonly byte[] _token;
    private readonly byte[] _cookie;

    public ServeAuth(string? token = null)
    {
        Token = token ?? Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        _token = Encoding.UTF8.GetBytes(Token);
        CookieValue = Base64Url.EncodeToString(HMACSHA256.HashData(_token, Encoding.ASCII.GetBytes(CookieLabel)));
        _cookie = Encoding.ASCII.GetBytes(CookieValue);
    }

    /// <summary>The secret itself: printed once at start (as the login URL), never logged.</summary>
    public string Token { get; }

    /// <summary>
    /// What the cookie holds: HMAC-SHA256(token, label), not the token, so no response ever carries the token (the
    /// cookie works for this server's lifetime only, like the token it is derived from).
    /// </summary>
    public string CookieValue { get; }

    public bool IsToken(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _token);

    /// <summary>Token from the header or the cookie, or a client certificate the handshake verified.</summary>
    public bool IsAuthenticated(HttpContext context, bool clientCertificates)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (clientCertificates && context.Connection.ClientCertificate is not null)
        {
            return true; // only certificates that passed ClientCertificateValidator complete the handshake
        }

        string? header = context.Request.Headers.Authorization;
        if (header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && IsToken(header["Bearer ".Length..].Trim()))
        {
            return true;
        }

        return context.Request.Cookies[CookieName] is { } cookie && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(cookie), _cookie);
    }

    /// <summary>HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure over TLS.</summary>
    public CookieOptions CookieOptions(bool secure) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = secure,
        Path = "/",
        IsEssential = true,
    };

    /// <summary>Where /login may send the browser next: a local path only (no open redirect to another site).</summary>
    public static string SafeNext(string? next) =>
        next is { Length: > 0 } n && n[0] == '/' && (n.Length == 1 || (n[1] != '/' && n[1] != '\\')) && !n.Contains("://", StringComparison.Ordinal) ? n : "/";
}
