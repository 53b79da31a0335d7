using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CloudApp.AppHost.Prometheus;

/// <summary>
/// Keeps a Prometheus file-based service discovery list of every running replica of a project, so each
/// replica is its own scrape target (its own <c>instance</c>) and a changed replica count needs no config edit.
/// DCP gives each replica its own port (in the replica's <c>ASPNETCORE_URLS</c>) behind a load-balancing proxy;
/// scraping the proxy would mix replicas, so the list names the replicas' own ports.
/// </summary>
internal sealed partial class ReplicaTargetsWriter(
    ResourceNotificationService notifications,
    ReplicaTargetsOptions options,
    ILogger<ReplicaTargetsWriter> logger) : BackgroundService
{
    private readonly Dictionary<string, string> _targets = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Write();
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                if (change.Resource != options.Project || !Apply(change.ResourceId, change.Snapshot))
                {
                    continue;
                }
                Write();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            Directory.Delete(options.Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the operating system's temp cleanup; nothing depends on it any more.
        }
    }

    /// <summary>
    /// Updates the target of one replica from its snapshot; true when the list changed. A replica that stops
    /// (it crashed, was killed or stopped from the dashboard) keeps its target, so Prometheus shows it DOWN
    /// with the scrape error and <c>ComputeApiTargetDown</c> fires, as it would for a pod that went away from
    /// behind a Service: a target that silently disappeared would hide exactly that failure. The list only
    /// shrinks when the AppHost restarts with fewer replicas.
    /// </summary>
    internal bool Apply(string replica, CustomResourceSnapshot snapshot)
    {
        var running = snapshot.State?.Text == KnownResourceStates.Running;
        var port = running ? ListeningPort(snapshot) : null;
        if (port is null)
        {
            return false;
        }
        var target = $"{options.HostName}:{port}";
        if (_targets.TryGetValue(replica, out var current) && current == target)
        {
            return false;
        }
        _targets[replica] = target;
        return true;
    }

    internal IReadOnlyList<TargetGroup> Groups =>
        [.. _targets.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new TargetGroup([t.Value], new Dictionary<string, string> { ["replica"] = t.Key }))];

    /// <summary>The port a replica listens on, from the ASPNETCORE_URLS DCP gave it.</summary>
    internal static int? ListeningPort(CustomResourceSnapshot snapshot)
    {
        var urls = snapshot.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value;
        foreach (var url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            // Kestrel-style wildcards ('*', '+') are not valid URI hosts; the port is all that is needed here.
            if (Uri.TryCreate(url.Replace("://*", "://any", StringComparison.Ordinal).Replace("://+", "://any", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                && uri.Scheme == Uri.UriSchemeHttp)
            {
                return uri.Port;
            }
        }
        return null;
    }

    private void Write()
    {
        Directory.CreateDirectory(options.Directory);
        var path = Path.Combine(options.Directory, options.FileName);
        var temporary = path + ".tmp";
        // Prometheus watches the directory; a rename makes the new list appear whole, never half-written.
        File.WriteAllText(temporary, JsonSerializer.Serialize(Groups, TargetsJson.Default.IReadOnlyListTargetGroup));
        File.Move(temporary, path, overwrite: true);
        LogTargets(string.Join(", ", _targets.Select(t => $"{t.Key}={t.Value}")));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Prometheus scrape targets: {Targets}")]
    private partial void LogTargets(string targets);
}

internal sealed record ReplicaTargetsOptions(IResource Project, string Directory, string FileName, string HostName);

/// <summary>One entry of a Prometheus file_sd list.</summary>
internal sealed record TargetGroup(
    [property: JsonPropertyName("targets")] IReadOnlyList<string> Targets,
    [property: JsonPropertyName("labels")] IReadOnlyDictionary<string, string> Labels);

[JsonSerializable(typeof(IReadOnlyList<TargetGroup>))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class TargetsJson : JsonSerializerContext;
