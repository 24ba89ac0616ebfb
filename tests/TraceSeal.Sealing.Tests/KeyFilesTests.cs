namespace TraceSeal.Sealing.Tests;

public sealed class KeyFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Init_writes_a_recipient_and_an_identity_that_open_what_the_recipient_seals()
    {
        var paths = KeyFiles.Init(_dir, "reader");

        Assert.Equal([Path.Combine(_dir, "reader.recipient.pem"), Path.Combine(_dir, "reader.identity.pem")], paths);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(paths[0]), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(paths[1]), StringComparison.Ordinal);
        var recipient = KeyFiles.LoadRecipient(paths[0]);
        var identity = KeyFiles.LoadIdentity(paths[1]);
        Assert.Equal(recipient.KeyId, identity.KeyId);
        var sealedObject = Sealer.Seal([42], ObjectKind.Block, "acme", [recipient]);
        Assert.Equal([42], Sealer.Open(sealedObject, [identity], out _));
    }

    [Fact]
    public void Init_creates_the_identity_0600_and_the_recipient_world_readable()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var paths = KeyFiles.Init(_dir, "reader");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(paths[1]));
        var recipientMode = File.GetUnixFileMode(paths[0]);
        Assert.True(recipientMode.HasFlag(UnixFileMode.UserRead));
        Assert.False(recipientMode.HasFlag(UnixFileMode.GroupWrite) || recipientMode.HasFlag(UnixFileMode.OtherWrite));
        Assert.Equal(UnixFileMode.None, recipientMode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
    }

    [Fact]
    public void Init_refuses_to_overwrite_without_force()
    {
        var first = KeyFiles.Init(_dir, "reader");
        var keyId = KeyFiles.LoadIdentity(first[1]).KeyId;

        var e = Assert.Throws<IOException>(() => KeyFiles.Init(_dir, "reader"));
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        Assert.Equal(keyId, KeyFiles.LoadIdentity(first[1]).KeyId);

        var second = KeyFiles.Init(_dir, "reader", force: true);
        Assert.NotEqual(keyId, KeyFiles.LoadIdentity(second[1]).KeyId);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(second[1]));
        }
    }

    [Fact]
    public void Init_rejects_names_that_are_paths_and_unknown_curves()
    {
        Assert.Throws<ArgumentException>(() => KeyFiles.Init(_dir, "../evil"));
        Assert.Throws<ArgumentException>(() => KeyFiles.Init(_dir, "ok", curve: "p521"));
    }

    [Fact]
    public void Passphrase_protected_identity_needs_the_passphrase()
    {
        var paths = KeyFiles.Init(_dir, "vault", passphrase: "correct horse");

        Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", File.ReadAllText(paths[1]), StringComparison.Ordinal);
        var missing = Assert.Throws<InvalidDataException>(() => KeyFiles.LoadIdentity(paths[1]));
        Assert.Contains("passphrase", missing.Message, StringComparison.Ordinal);
        Assert.Contains(paths[1], missing.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<InvalidDataException>(() => KeyFiles.LoadIdentity(paths[1], "wrong"));
        Assert.Contains("wrong passphrase", wrong.Message, StringComparison.Ordinal);

        var identity = KeyFiles.LoadIdentity(paths[1], "correct horse");
        var sealedObject = Sealer.Seal([7], ObjectKind.Index, "acme", [KeyFiles.LoadRecipient(paths[0])]);
        Assert.Equal([7], Sealer.Open(sealedObject, [identity], out _));
    }

    [Fact]
    public void P384_keys_init_and_describe()
    {
        var paths = KeyFiles.Init(_dir, "big", curve: "p384");
        var keyId = KeyFiles.LoadRecipient(paths[0]).KeyId;

        Assert.Equal($"recipient curve=p384 key_id={keyId}", KeyFiles.Describe(paths[0]));
        Assert.Equal($"identity curve=p384 key_id={keyId}", KeyFiles.Describe(paths[1]));
    }

    [Fact]
    public void IsIdentityFile_tells_private_from_public_and_the_collector_cannot_load_an_identity_as_recipient()
    {
        var paths = KeyFiles.Init(_dir, "reader");
        var ecPrivate = Path.Combine(_dir, "legacy.pem");
        using (var ec = System.Security.Cryptography.ECDsa.Create())
        {
            File.WriteAllText(ecPrivate, ec.ExportECPrivateKeyPem());
        }

        Assert.False(KeyFiles.IsIdentityFile(paths[0]));
        Assert.True(KeyFiles.IsIdentityFile(paths[1]));
        Assert.True(KeyFiles.IsIdentityFile(ecPrivate));
        var e = Assert.Throws<InvalidDataException>(() => KeyFiles.LoadRecipient(paths[1]));
        Assert.Contains("private key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TraceSeal_recipient_label_is_accepted_and_other_curves_are_refused()
    {
        var spki = TestKeys.Identity("test/alice").ToRecipient().ExportSubjectPublicKeyInfo();
        var recipient = KeyFiles.ParseRecipient(System.Security.Cryptography.PemEncoding.WriteString("TRACESEAL RECIPIENT", spki));
        Assert.Equal(TestKeys.Identity("test/alice").KeyId, recipient.KeyId);

        using var p521 = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP521);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(
            () => KeyFiles.ParseRecipient(p521.ExportSubjectPublicKeyInfoPem()));
    }
}
