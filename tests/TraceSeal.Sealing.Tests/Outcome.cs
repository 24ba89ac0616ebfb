namespace TraceSeal.Sealing.Tests;

/// <summary>Opens an object with both APIs and reports one outcome: "ok", "no_identity_match" or the integrity code.</summary>
internal static class Outcome
{
    public const string Ok = "ok";
    public const string NoIdentityMatch = "no_identity_match";

    public static string Of(byte[] sealedObject, IReadOnlyList<IIdentity> identities, byte[]? expectedPlaintext = null)
    {
        var fromSpan = OfSpan(sealedObject, identities, expectedPlaintext);
        var fromStream = OfStream(sealedObject, identities, expectedPlaintext);
        Assert.Equal(fromSpan, fromStream);
        return fromSpan;
    }

    private static string OfSpan(byte[] sealedObject, IReadOnlyList<IIdentity> identities, byte[]? expected)
    {
        try
        {
            var plaintext = Sealer.Open(sealedObject, identities, out _);
            if (expected is not null)
            {
                Assert.Equal(expected, plaintext);
            }

            return Ok;
        }
        catch (SealedIntegrityException e)
        {
            Assert.Equal(SealedIntegrityException.OpaqueMessage, e.Message);
            return e.Code;
        }
        catch (NoIdentityMatchException)
        {
            return NoIdentityMatch;
        }
    }

    private static string OfStream(byte[] sealedObject, IReadOnlyList<IIdentity> identities, byte[]? expected)
    {
        try
        {
            using var stream = Sealer.Open(new MemoryStream(sealedObject), identities, out _);
            var output = new MemoryStream();
            stream.CopyTo(output);
            if (expected is not null)
            {
                Assert.Equal(expected, output.ToArray());
            }

            return Ok;
        }
        catch (SealedIntegrityException e)
        {
            return e.Code;
        }
        catch (NoIdentityMatchException)
        {
            return NoIdentityMatch;
        }
    }
}
