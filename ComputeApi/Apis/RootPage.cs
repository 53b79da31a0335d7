using System.Globalization;
using System.Net;
using CloudApp.ComputeApi.Kernels;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CloudApp.ComputeApi.Apis;

/// <summary>
/// <c>GET /</c>: what the service is, for a person with a browser. The page is RootPage.html (embedded); this fills
/// in the kernels and limits the service runs with.
/// </summary>
internal static class RootPage
{
    private static readonly string Template = ReadTemplate();

    public static ContentHttpResult Render(KernelCatalog catalog, IOptions<ComputeOptions> options)
    {
        var rows = string.Concat(catalog.Entries.Select(e =>
            $"<tr><td><a href=\"/api/compute/{e.Name}\">{e.Name}</a></td><td>{WebUtility.HtmlEncode(e.Kernel.Description)}</td>"
            + $"<td>{WebUtility.HtmlEncode(e.Kernel.SizeMeaning)}</td><td>{e.DefaultSize}</td><td>{e.MaxSize}</td></tr>"));
        var limits = options.Value;
        var html = Template
            .Replace("{concurrency}", limits.EffectiveConcurrency.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{queue}", limits.QueueLimit.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{timeout}", limits.RequestTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{kernels}", rows, StringComparison.Ordinal);
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }

    private static string ReadTemplate()
    {
        using var stream = typeof(RootPage).Assembly.GetManifestResourceStream($"{typeof(RootPage).FullName}.html")
            ?? throw new InvalidOperationException("RootPage.html is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
