namespace CloudApp.AppHost.Grafana;

/// <summary>A Grafana server run from a container image, provisioned from files under deploy/grafana.</summary>
public sealed class GrafanaResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";

    /// <summary>The image's facts (port, user, folders): its record in deploy/images.json.</summary>
    public static ImageRecord Record => ImageRecords.Current.Grafana;

    public static int Port => Record.Port;

    /// <summary>Where the provisioning files (deploy/grafana/provisioning) are mounted: below the image's configuration folder.</summary>
    public static string ProvisioningDirectory => $"{Record.Path("config")}/provisioning";

    /// <summary>Where the dashboard provider (deploy/grafana/provisioning/dashboards) loads dashboards from.</summary>
    public static string DashboardsDirectory => $"{Record.Path("data")}/dashboards";

    /// <summary>Fixed uids of the provisioned dashboards (deploy/grafana/dashboards), for links.</summary>
    public const string ComputeApiDashboardUid = "cloudapp-computeapi";
}
