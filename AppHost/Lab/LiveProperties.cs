using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CloudApp.AppHost.Lab;

/// <summary>What a poll of a server's API found: properties to show on its resource and, optionally, its health.</summary>
internal sealed record LiveReading(IReadOnlyList<(string Name, string DisplayName, string Value)> Properties, HealthCheckResult? Health = null);

/// <summary>
/// Polls a container's HTTP API while it runs and publishes what it reads as properties of the resource (shown in
/// the dashboard and by <c>aspire describe</c>), and as a health check when the reading has a health: Aspire shows
/// the resource Degraded or Unhealthy with the reading's description.
/// </summary>
internal static partial class LiveProperties
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    public static IResourceBuilder<T> WithLiveProperties<T>(this IResourceBuilder<T> builder, string endpointName,
        Func<HttpClient, CancellationToken, Task<LiveReading>> read) where T : ContainerResource
    {
        if (!builder.ApplicationBuilder.ExecutionContext.IsRunMode) return builder;

        var latest = new Latest();
        var key = $"{builder.Resource.Name}-live";
        // AddSingleton, not AddHostedService: that one keeps a single service per implementation type, and there
        // is one poller per resource.
        builder.ApplicationBuilder.Services.AddSingleton<IHostedService>(services => new Poller(
            services.GetRequiredService<ResourceNotificationService>(), services.GetRequiredService<ResourceLoggerService>(),
            builder.Resource, endpointName, read, latest));
        // Healthy until a reading says otherwise: what depends on the server waits for it to be healthy, and the
        // first readings come before its targets are scraped.
        builder.ApplicationBuilder.Services.AddHealthChecks().AddCheck(key, () => latest.Reading?.Health ?? HealthCheckResult.Healthy());
        return builder.WithHealthCheck(key);
    }

    private sealed class Latest
    {
        public volatile LiveReading? Reading;
    }

    private sealed partial class Poller(ResourceNotificationService notifications, ResourceLoggerService logs, ContainerResource resource,
        string endpointName, Func<HttpClient, CancellationToken, Task<LiveReading>> read, Latest latest) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var log = logs.GetLogger(resource);
            try
            {
                await notifications.WaitForResourceAsync(resource.Name, KnownResourceStates.Running, stoppingToken);
                var url = await resource.GetEndpoint(endpointName).GetValueAsync(stoppingToken);
                using var http = new HttpClient { BaseAddress = new Uri(url!), Timeout = TimeSpan.FromSeconds(4) };
                using var timer = new PeriodicTimer(Interval);
                string? lastFailure = null;
                IReadOnlyList<(string Name, string DisplayName, string Value)>? published = null;
                do
                {
                    try
                    {
                        var reading = await read(http, stoppingToken);
                        latest.Reading = reading;
                        lastFailure = null;
                        // An update only when something changed: each one goes to every dashboard watching.
                        if (published is not null && published.SequenceEqual(reading.Properties)) continue;
                        published = reading.Properties;
                        await notifications.PublishUpdateAsync(resource, s => s with
                        {
                            Properties =
                            [
                                .. s.Properties.Where(p => !reading.Properties.Any(r => r.Name == p.Name)),
                                .. reading.Properties.Select(r => new ResourcePropertySnapshot(r.Name, r.Value) { DisplayName = r.DisplayName, IsHighlighted = true }),
                            ],
                        });
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException
                                              && !stoppingToken.IsCancellationRequested)
                    {
                        // Once per failure, not every five seconds while the server restarts.
                        if (lastFailure != e.Message) LogReadFailed(log, e.Message);
                        lastFailure = e.Message;
                    }
                }
                while (await timer.WaitForNextTickAsync(stoppingToken));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the live state failed: {Reason}")]
        private static partial void LogReadFailed(ILogger logger, string reason);
    }
}
