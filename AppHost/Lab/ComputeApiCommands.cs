using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.AppHost.Prometheus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudApp.AppHost.Lab;

/// <summary>
/// The lab's drills on a ComputeApi replica, run from its row in the Aspire dashboard or with
/// <c>aspire resource &lt;replica&gt; &lt;command&gt;</c>: put load on it, make its metrics slower than the scrape
/// timeout (the original lab's "context deadline exceeded") and undo that, or SIGKILL it. Each acts on the replica it
/// is run on, through that replica's own port, not the proxy in front of all of them.
/// </summary>
internal static class ComputeApiCommands
{
    public const string GenerateLoad = "generate-load";
    public const string SlowMetrics = "slow-metrics";
    public const string RestoreMetrics = "restore-metrics";
    public const string KillReplica = "kill-replica";

    /// <summary>Bounds of the load a command may put on a replica (requests per second, seconds).</summary>
    public const int MaxRate = 50;
    public const int MaxDuration = 300;

    public static IResourceBuilder<ProjectResource> WithLabCommands(this IResourceBuilder<ProjectResource> computeapi, string prometheusConfigFile)
    {
        if (!computeapi.ApplicationBuilder.ExecutionContext.IsRunMode) return computeapi;
        // The fault endpoints exist only where this is set: local runs, never the published manifests.
        computeapi.WithEnvironment("Faults__Enabled", "true");
        var scrapeTimeout = Duration.Parse(PrometheusResource.ScrapeTimings(prometheusConfigFile).Timeout);
        var slowBy = (int)Math.Ceiling((scrapeTimeout + TimeSpan.FromSeconds(2)).TotalSeconds);

        return computeapi
            .WithCommand(GenerateLoad, "Generate load", context => GenerateLoadAsync(context), new CommandOptions
            {
                Description = $"Requests to this replica at a steady rate (at most {MaxRate}/s for {MaxDuration} s), then a summary of the answers.",
                IconName = "TopSpeed",
                UpdateState = RunningOnly,
                // Text inputs, checked here: a number field's own check only says that validation failed, not why.
                Arguments =
                [
                    new InteractionInput { Name = "kernel", Label = "Kernel", InputType = InputType.Text, Description = "Empty: the first kernel the replica lists (GET /api/kernels)" },
                    new InteractionInput { Name = "size", Label = "Size", InputType = InputType.Text, Description = "Empty: the kernel's default size" },
                    new InteractionInput { Name = "rate", Label = "Requests per second", InputType = InputType.Text, Value = "5" },
                    new InteractionInput { Name = "duration", Label = "Seconds", InputType = InputType.Text, Value = "30" },
                ],
            })
            .WithCommand(SlowMetrics, "Slow /metrics", context => SlowMetricsAsync(context, slowBy), new CommandOptions
            {
                Description = $"Delays this replica's /metrics beyond the scrape timeout ({scrapeTimeout.TotalSeconds:0} s): its target goes DOWN with \"context deadline exceeded\".",
                IconName = "Timer",
                UpdateState = RunningOnly,
                Arguments = [new InteractionInput { Name = "seconds", Label = "Delay (seconds)", InputType = InputType.Text, Value = slowBy.ToString(CultureInfo.InvariantCulture) }],
            })
            .WithCommand(RestoreMetrics, "Restore /metrics", RestoreMetricsAsync, new CommandOptions
            {
                Description = "Clears the delay of Slow /metrics.",
                IconName = "TimerOff",
                UpdateState = RunningOnly,
            })
            .WithCommand(KillReplica, "Kill (SIGKILL)", KillAsync, new CommandOptions
            {
                Description = "Kills this replica's process without warning, as an OOM kill or a lost node would: its target goes DOWN and ComputeApiTargetDown fires.",
                IconName = "Flash",
                ConfirmationMessage = "Kill this replica with SIGKILL?",
                UpdateState = RunningOnly,
            });
    }

    /// <summary>A command offered while its resource runs (the dashboard greys it out otherwise).</summary>
    internal static ResourceCommandState RunningOnly(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static async Task<ExecuteCommandResult> GenerateLoadAsync(ExecuteCommandContext context)
    {
        if (Replica(context) is not { } replica) return NotRunning(context);
        if (!TryWhole(context, "rate", 5, 1, MaxRate, out var rate, out var error)
            || !TryWhole(context, "duration", 30, 1, MaxDuration, out var duration, out error)
            || !TryWhole(context, "size", 0, 1, long.MaxValue, out var size, out error))
        {
            return CommandResults.Failure(error);
        }

        using var http = new HttpClient { BaseAddress = replica.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        // The replica knows its kernels and their limits: ask it before sending anything.
        var kernels = await http.GetFromJsonAsync<JsonElement>("/api/kernels", context.CancellationToken);
        var known = kernels.EnumerateArray().Select(e => (Name: e.GetProperty("name").GetString()!, Max: e.GetProperty("maxSize").GetInt64())).ToList();
        var kernel = context.Arguments.GetString("kernel") is { Length: > 0 } k ? k : known[0].Name;
        if (known.FirstOrDefault(e => e.Name == kernel) is not { Name: not null } entry)
        {
            return CommandResults.Failure($"kernel '{kernel}' is not one of {string.Join(", ", known.Select(e => e.Name))}; nothing was sent.");
        }
        if (size > entry.Max)
        {
            return CommandResults.Failure($"size {size} is above the {kernel} kernel's maximum {entry.Max}; nothing was sent.");
        }

        var path = size > 0 ? $"/api/compute/{kernel}?size={size}" : $"/api/compute/{kernel}";
        var answers = new Dictionary<string, int>(StringComparer.Ordinal);
        var latencies = new List<double>();
        var inFlight = new List<Task>();
        var clock = Stopwatch.StartNew();
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        using var timer = new PeriodicTimer(interval);
        var progressAt = TimeSpan.FromSeconds(5);
        LogStart(context.Logger, rate, duration, path);
        for (var sent = 0L; sent < rate * duration && await timer.WaitForNextTickAsync(context.CancellationToken); sent++)
        {
            inFlight.Add(SendAsync(http, path, answers, latencies, context.CancellationToken));
            if (clock.Elapsed >= progressAt)
            {
                progressAt += TimeSpan.FromSeconds(5);
                lock (answers) LogProgress(context.Logger, (int)clock.Elapsed.TotalSeconds, sent + 1, Summary(answers));
            }
        }
        await Task.WhenAll(inFlight);

        string summary;
        lock (answers)
        {
            latencies.Sort();
            summary = $"{inFlight.Count} requests to {replica.Id} in {clock.Elapsed.TotalSeconds:0} s: {Summary(answers)}"
                + (latencies.Count > 0 ? $"; latency p50 {Percentile(latencies, 0.5):0} ms, p99 {Percentile(latencies, 0.99):0} ms" : "");
        }
        context.Logger.LogInformation("{Summary}", summary);
        return CommandResults.Success(summary, summary);
    }

    private static async Task SendAsync(HttpClient http, string path, Dictionary<string, int> answers, List<double> latencies, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        string outcome;
        try
        {
            using var response = await http.GetAsync(path, cancellationToken);
            outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException e)
        {
            outcome = e.HttpRequestError.ToString();
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = "timeout";
        }
        lock (answers)
        {
            answers[outcome] = answers.GetValueOrDefault(outcome) + 1;
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    private static string Summary(Dictionary<string, int> answers) =>
        answers.Count == 0 ? "no answer yet" : string.Join(", ", answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Value} x {a.Key}"));

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static async Task<ExecuteCommandResult> SlowMetricsAsync(ExecuteCommandContext context, int defaultSeconds)
    {
        if (Replica(context) is not { } replica) return NotRunning(context);
        // The service checks the bounds and answers with what is wrong; the command passes that on.
        var seconds = context.Arguments.GetString("seconds") is { Length: > 0 } s ? s : defaultSeconds.ToString(CultureInfo.InvariantCulture);
        using var http = new HttpClient { BaseAddress = replica.BaseAddress };
        using var response = await http.PutAsync($"/faults/metrics-delay?seconds={Uri.EscapeDataString(seconds)}", content: null, context.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(context.CancellationToken);
            return CommandResults.Failure(problem.TryGetProperty("detail", out var detail) ? detail.GetString() : $"HTTP {(int)response.StatusCode}");
        }
        var message = $"{replica.Id}: /metrics answers after {seconds} s until Restore /metrics; its target goes DOWN at the next scrape.";
        context.Logger.LogWarning("{Message}", message);
        return CommandResults.Success(message, message);
    }

    private static async Task<ExecuteCommandResult> RestoreMetricsAsync(ExecuteCommandContext context)
    {
        if (Replica(context) is not { } replica) return NotRunning(context);
        using var http = new HttpClient { BaseAddress = replica.BaseAddress };
        using var response = await http.DeleteAsync("/faults/metrics-delay", context.CancellationToken);
        response.EnsureSuccessStatusCode();
        var message = $"{replica.Id}: /metrics answers at once again.";
        context.Logger.LogInformation("{Message}", message);
        return CommandResults.Success(message, message);
    }

    private static Task<ExecuteCommandResult> KillAsync(ExecuteCommandContext context)
    {
        if (Replica(context) is not { ProcessId: { } launcher } replica) return Task.FromResult(NotRunning(context));
        // DCP starts each replica through a launcher (dotnet run); the service is its child. Killing the launcher
        // would leave the service running, orphaned.
        var children = File.ReadAllText($"/proc/{launcher}/task/{launcher}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (children.Length == 0) return Task.FromResult(CommandResults.Failure($"{replica.Id} has no running process under pid {launcher}."));
        foreach (var child in children)
        {
            using var process = Process.GetProcessById(int.Parse(child, CultureInfo.InvariantCulture));
            process.Kill(entireProcessTree: false); // SIGKILL
        }
        var message = $"{replica.Id}: killed pid {string.Join(", ", children)} with SIGKILL.";
        context.Logger.LogWarning("{Message}", message);
        return Task.FromResult(CommandResults.Success(message, message));
    }

    private sealed record RunningReplica(string Id, Uri BaseAddress, int? ProcessId);

    /// <summary>The replica the command was run on, if it is running: its own address and its launcher's pid.</summary>
    private static RunningReplica? Replica(ExecuteCommandContext context)
    {
        var notifications = context.Services.GetRequiredService<ResourceNotificationService>();
        if (!notifications.TryGetCurrentState(context.ResourceName, out var current) || current is null
            || current.Snapshot.State?.Text != KnownResourceStates.Running
            || ReplicaTargetsWriter.ListeningPort(current.Snapshot) is not { } port)
        {
            return null;
        }
        var pid = current.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value as int?;
        return new RunningReplica(context.ResourceName, new Uri($"http://localhost:{port}"), pid);
    }

    private static ExecuteCommandResult NotRunning(ExecuteCommandContext context) =>
        CommandResults.Failure($"{context.ResourceName} is not running; start it first.");

    /// <summary>A whole-number argument within bounds, or its default when left empty.</summary>
    private static bool TryWhole(ExecuteCommandContext context, string name, long fallback, long minimum, long maximum, out long value, out string error)
    {
        error = "";
        var text = context.Arguments.GetString(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            value = fallback;
            return true;
        }
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= minimum && value <= maximum)
        {
            return true;
        }
        error = maximum == long.MaxValue
            ? $"{name} must be a whole number of at least {minimum} (got '{text}'); nothing was sent."
            : $"{name} must be a whole number from {minimum} to {maximum} (got '{text}'); nothing was sent.";
        return false;
    }

    private static void LogStart(ILogger logger, long rate, long duration, string path) =>
        logger.LogInformation("Generating load: {Rate} requests/s for {Duration} s to {Path}", rate, duration, path);

    private static void LogProgress(ILogger logger, int seconds, long sent, string answers) =>
        logger.LogInformation("{Seconds} s: {Sent} requests sent; answers so far: {Answers}", seconds, sent, answers);
}
