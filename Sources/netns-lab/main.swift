import NetnsLab
import Foundation

// The lab (`up`, `down`, `clean`, `demo`, ...) arrives with the udp/lab issue.
print("netns-lab: not built yet. The lab (fake hosts from network namespaces, real agents) arrives with the udp backend.")
exit(2)
