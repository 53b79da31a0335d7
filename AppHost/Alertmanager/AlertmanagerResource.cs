namespace CloudApp.AppHost.Alertmanager;

/// <summary>An Alertmanager run from a container image, configured from deploy/alertmanager/alertmanager.yml.</summary>
public sealed class AlertmanagerResource(string name) : ContainerResource(name)
{
    public const string HttpEndpointName = "http";
    public const int Port = 9093;
}
