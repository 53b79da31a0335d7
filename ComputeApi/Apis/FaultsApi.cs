using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CloudApp.ComputeApi.Apis;

/// <summary>
/// Faults a lab can switch on and off in a running replica, to produce a symptom on demand and watch monitoring
/// report it: a delay before every answer of <see cref="ServiceDefaultsExtensions.MetricsPath"/>, longer than
/// Prometheus' scrape timeout, makes the replica's target DOWN with "context deadline exceeded" (the original lab's
/// symptom) while the replica keeps computing. Mapped only when <c>Faults:Enabled</c> is true, which the AppHost sets
/// for local runs; the Kubernetes manifests never do.
/// </summary>
public static class FaultsApi
{
    public const string EnabledSetting = "Faults:Enabled";
    public const string MetricsDelayPath = "/faults/metrics-delay";
    public const string SecondsParameter = "seconds";

    /// <summary>Longest delay accepted: beyond every scrape timeout here (4 s locally, 10 s in Kubernetes).</summary>
    public const int MaxDelaySeconds = 60;

    /// <summary>Maps <c>PUT</c> and <c>DELETE</c> <see cref="MetricsDelayPath"/> and delays the metrics endpoint while set.</summary>
    public static WebApplication MapFaultsApi(this WebApplication app)
    {
        if (!app.Configuration.GetValue<bool>(EnabledSetting)) return app;

        var fault = new MetricsDelay();
        app.Use(async (context, next) =>
        {
            if (fault.Delay is { } delay && context.Request.Path.StartsWithSegments(ServiceDefaultsExtensions.MetricsPath))
            {
                // A scraper that gives up closes the connection: the request is aborted, nothing more to answer.
                await Task.Delay(delay, context.RequestAborted);
            }
            await next(context);
        });

        var faults = app.MapGroup("/faults").WithTags("Faults").ExcludeFromDescription();
        faults.MapPut("/metrics-delay", (string? seconds) => Set(fault, seconds));
        faults.MapDelete("/metrics-delay", () =>
        {
            fault.Delay = null;
            return TypedResults.NoContent();
        });
        return app;
    }

    private static Results<NoContent, ValidationProblem> Set(MetricsDelay fault, string? seconds)
    {
        if (!int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > MaxDelaySeconds)
        {
            var error = $"'{SecondsParameter}' must be a whole number of seconds from 1 to {MaxDelaySeconds}.";
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [SecondsParameter] = [error] },
                detail: error,
                extensions: new Dictionary<string, object?> { ["minimum"] = 1, ["maximum"] = MaxDelaySeconds });
        }
        fault.Delay = TimeSpan.FromSeconds(value);
        return TypedResults.NoContent();
    }

    private sealed class MetricsDelay
    {
        private long _ticks;

        public TimeSpan? Delay
        {
            get => Interlocked.Read(ref _ticks) is > 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;
            set => Interlocked.Exchange(ref _ticks, value?.Ticks ?? 0);
        }
    }
}
