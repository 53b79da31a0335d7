namespace CloudApp.AppHost.Grafana;

/// <summary>
/// Whether this run includes Grafana. <c>Grafana:Enabled</c> is <c>true</c>, <c>false</c> or <c>auto</c> (default):
/// auto includes it when its image is present or can be pulled, so a machine that reaches no registry runs the
/// rest of the stack with one warning instead of a resource that never starts. Publishing always includes it.
/// </summary>
internal static class GrafanaAvailability
{
    public sealed record Decision(bool Include, string Reason);

    public static async Task<Decision> DecideAsync(IDistributedApplicationBuilder builder, CloudApp.AppHost.ImageReference image)
    {
        var setting = builder.Configuration["Grafana:Enabled"] ?? "auto";
        if (builder.ExecutionContext.IsPublishMode || setting.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return new(true, "enabled");
        }
        if (setting.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return new(false, "Grafana:Enabled is false.");
        }

        var probe = await ContainerImageProbe.CheckAsync(builder.Configuration, image, TimeSpan.FromMinutes(10));
        return probe.Available
            ? new(true, probe.Detail)
            : new(false, $"the image {image} is not available ({probe.Detail}). Pull or mirror it and set Images:Grafana, "
                + "or set Grafana:Enabled=false to silence this warning.");
    }
}
