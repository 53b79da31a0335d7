using System.Text.RegularExpressions;

namespace CloudApp.AppHost.Prometheus;

/// <summary>
/// Every alert's <c>runbook_url</c> is its section of one runbook document: the rule files link the project's
/// <c>docs/runbook.md</c>, and a publish setting (<c>Kubernetes:RunbookUrl</c>) points every link of the published
/// rules at the copy a team keeps elsewhere (a wiki, an internal docs site), each alert keeping its own anchor.
/// </summary>
internal static partial class RunbookLinks
{
    public const string Setting = "Kubernetes:RunbookUrl";

    /// <summary>The document part of a <c>runbook_url</c> value, quoted or not, up to the anchor.</summary>
    [GeneratedRegex("""(?<=^\s*runbook_url:\s*"?)[^"#\s]+(?=#)""", RegexOptions.Multiline)]
    private static partial Regex Document();

    /// <summary>The runbook document the setting names, or null when it is not set.</summary>
    public static Uri? From(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting)) return null;
        if (!Uri.TryCreate(setting, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || url.Fragment.Length > 0)
        {
            throw new InvalidOperationException(
                $"{Setting} must be an absolute http(s) URL of the runbook document, without an anchor (each alert adds its own); got '{setting}'.");
        }
        return url;
    }

    /// <summary>The rule file's text with every runbook link pointing into <paramref name="document"/> (unchanged when null).</summary>
    public static string Rebase(string rules, Uri? document) =>
        document is null ? rules : Document().Replace(rules, document.AbsoluteUri);
}
