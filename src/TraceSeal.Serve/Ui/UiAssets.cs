using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace TraceSeal.Serve.Ui;

/// <summary>The web UI's files, compiled into the assembly (Ui/assets/*): nothing is fetched from anywhere else.</summary>
internal static class UiAssets
{
    private static readonly FrozenDictionary<string, (byte[] Bytes, string Type)> Files = Load();

    public static async Task Serve(HttpContext context, string name)
    {
        if (!Files.TryGetValue(name, out var file))
        {
            await ServeJson.Error(context, 404, "not found").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = file.Type;
        await context.Response.Body.WriteAsync(file.Bytes, context.RequestAborted).ConfigureAwait(false);
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith("ui/", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[3..];
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            files[name] = (copy.ToArray(), type);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
